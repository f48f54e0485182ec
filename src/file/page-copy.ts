import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import { LkstError } from '../base/errors.js';
import { compiledHelper } from '../native/compile.js';

/**
 * Copies page files into the trace file inside the kernel (copy_file_range): reading them through
 * Node cost ~2x the CPU of the rest of writing a 4 M-event trace. One small C helper copies every
 * file (a process per file would cost more than it saves on a short trace).
 *
 * argv: OUT [+LEN MARKER] (SRC OFFSET SIZE)...: SIZE bytes from the start of SRC to OFFSET in OUT.
 * With +LEN, first LEN bytes of room are inserted at the start of OUT without moving its data
 * (fallocate FALLOC_FL_INSERT_RANGE: OUT is a page file becoming the trace file), then MARKER is
 * written with LEN (partial recovery strips that many bytes while it exists). Exit 0; 3 when a
 * source is shorter than SIZE; 4 when the file system cannot insert (nothing was changed); 1 with
 * "errno N" on stderr when a call fails.
 */
const SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static char buf[1 << 20];
static int fail(void) { fprintf(stderr, "errno %d\n", errno); return 1; }
int main(int argc, char **argv) {
  int first = argc > 3 && argv[2][0] == '+' ? 4 : 2;
  if (argc < 2 || (argc - first) % 3) return 2;
  int out = open(argv[1], O_WRONLY);
  if (out < 0) return fail();
  if (first == 4) {
    long long len = atoll(argv[2] + 1);
    if (fallocate(out, FALLOC_FL_INSERT_RANGE, 0, len)) {
      if (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS) return 4;
      return fail();
    }
    FILE *m = fopen(argv[3], "w");
    if (!m || fprintf(m, "%lld\n", len) < 0 || fflush(m) || fsync(fileno(m)) || fclose(m)) return fail();
  }
  for (int i = first; i < argc; i += 3) {
    int in = open(argv[i], O_RDONLY);
    if (in < 0) return fail();
    loff_t from = 0, to = atoll(argv[i + 1]);
    long long left = atoll(argv[i + 2]);
    int plain = 0;
    while (left > 0) {
      ssize_t n = -1;
      if (!plain) {
        n = copy_file_range(in, &from, out, &to, (size_t)left, 0);
        /* Across file systems on old kernels, or where the file system refuses: copy by hand. */
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) { plain = 1; continue; }
      } else {
        n = pread(in, buf, left < (long long)sizeof buf ? (size_t)left : sizeof buf, from);
        for (ssize_t w, done = 0; n > 0 && done < n; done += w) {
          w = pwrite(out, buf + done, (size_t)(n - done), to + done);
          if (w < 0) { if (errno == EINTR) { w = 0; continue; } return fail(); }
        }
        if (n > 0) { from += n; to += n; }
      }
      if (n < 0) { if (errno == EINTR) continue; return fail(); }
      if (n == 0) return 3;
      left -= n;
    }
    close(in);
  }
  return close(out) ? fail() : 0;
}
`;

/** Path of the copier, or undefined without a C compiler (the caller copies in Node). */
function copier(): string | undefined {
  try {
    return compiledHelper('lkst-copy', SOURCE);
  } catch {
    return undefined;
  }
}

export interface PageFileCopy {
  source: string;
  offset: number;
  size: number;
}

/**
 * Makes the page file `out` the trace file: room for `room` bytes at its start, inserted without
 * moving its pages (the marker file says how many while it exists), then each file copied to its
 * offset in that room. 'unsupported': the copier or the file system cannot (nothing changed).
 */
export async function adoptPageFile(out: string, room: number, marker: string, files: readonly PageFileCopy[]): Promise<'adopted' | 'unsupported'> {
  const bin = copier();
  if (!bin) return 'unsupported';
  return (await runCopier(bin, out, [`+${room}`, marker], files)) === 4 ? 'unsupported' : 'adopted';
}

/**
 * Copies each file's first size bytes to its offset in out (an existing file). Returns false when
 * the copier cannot be built: nothing was copied. Throws an error carrying the errno code (as
 * node:fs errors do) when a copy fails, or LkstError when a file shrank.
 */
export async function copyPageFiles(out: string, files: readonly PageFileCopy[]): Promise<boolean> {
  const bin = copier();
  if (!bin) return false;
  await runCopier(bin, out, [], files);
  return true;
}

/** Runs the copier to its end: 0, or 4 (no insert); rejects on any other failure. */
function runCopier(bin: string, out: string, insert: string[], files: readonly PageFileCopy[]): Promise<number> {
  const args = [out, ...insert, ...files.flatMap((f) => [f.source, String(f.offset), String(f.size)])];
  return new Promise<number>((resolve, reject) => {
    execFile(bin, args, (err, _stdout, stderr) => {
      if (!err) return resolve(0);
      if (err.code === 4 && insert.length) return resolve(4);
      if (err.code === 3) return reject(new LkstError('a page file shrank while being written', 'do not touch the recording files until lkst finishes'));
      const errno = Number(/errno (\d+)/.exec(stderr)?.[1]);
      const code = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0];
      reject(Object.assign(new Error(`copying pages into ${out}: ${code ?? stderr.trim() ?? err.message}`), { code }));
    });
  });
}
