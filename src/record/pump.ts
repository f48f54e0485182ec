import { spawn, type ChildProcess } from 'node:child_process';
import { LkstError } from '../base/errors.js';
import { compiledHelper } from '../native/compile.js';
import type { CpuCapture } from './cpu-reader.js';

/**
 * The recorder's data mover: a small C program that sleeps in poll() on every CPU's
 * trace_pipe_raw and splices whole pages into the per-CPU files. Measured on a loopback web
 * server: a reader woken by timers (anything Node can do) cost ~8-10% more requests/s than the
 * events themselves; one woken by the kernel when a buffer passes buffer_percent, moving 16 pages
 * per wakeup, costs nothing beyond them. Node never touches the data while recording.
 *
 * argv: SUBBUF_BYTES CHUNK_PAGES TRACING_ON|- KALLSYMS_OUT|- COUNT (PIPE OUT)...; closing its stdin
 * ends it: it turns the instance's tracing_on off (unless "-"), moves what is left (splice takes only
 * full pages, read(2) the last partial one), with COUNT 1 counts each file's pages and events (a line
 * "count SLOT PAGES BYTES EVENTS LOST FLAGGED" per file, "count SLOT corrupt" when a page does not
 * parse; walking every record cost 40% of its CPU on a storm, so a fresh buffer's counts come from
 * the kernel's counters instead, see recorder.ts), copies
 * /proc/kallsyms to KALLSYMS_OUT if it read a "k" from stdin before the end (a line "kallsyms ok"
 * when it did) and exits 0. Its
 * stdin also closes when the recorder is killed (kill -9): the trace then stops where the recorder
 * died and every page reaches the files.
 */
const SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#define MAXCPU 1024
static struct pollfd fds[MAXCPU + 1];
static int outs[MAXCPU], pipes[MAXCPU][2];
static size_t subbuf;
static int want_kallsyms;
static int put(int c, const char *buf, size_t n) {
  while (n) { ssize_t w = write(outs[c], buf, n); if (w < 0) { if (errno == EINTR) continue; return -1; } buf += w; n -= (size_t)w; }
  return 0;
}
/* Moves up to max bytes of whole pages from CPU c; returns bytes moved, 0 when none, -1 on error. */
static ssize_t move(int c, size_t max) {
  ssize_t n = splice(fds[c].fd, NULL, pipes[c][1], NULL, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  for (ssize_t left = n; left > 0;) {
    ssize_t m = splice(pipes[c][0], NULL, outs[c], NULL, (size_t)left, SPLICE_F_MOVE);
    if (m < 0) { if (errno == EINTR) continue; return -1; }
    if (m == 0) return -1;
    left -= m;
  }
  return n;
}
/* A page's records, as ringbuf/page.ts walks them; -1 when one runs past the commit. */
static long records(const unsigned char *pg) {
  uint32_t commit; memcpy(&commit, pg + 8, 4);
  uint64_t head[2]; memcpy(head, pg, 16);
  if (head[0] == UINT64_MAX && head[1] == UINT64_MAX) return -1; /* marked unreadable */
  size_t len = commit & ((1u << 30) - 1);
  if (len > subbuf - 16) return -1;
  const unsigned char *p = pg + 16, *end = p + len;
  long k = 0;
  while (p + 4 <= end) {
    uint32_t w, a; memcpy(&w, p, 4);
    unsigned type = w & 31;
    if (type <= 28 && type) { if (p + 4 + type * 4 > end) return -1; p += 4 + type * 4; k++; continue; }
    if (p + 8 > end) { if (type == 29) break; return -1; }
    memcpy(&a, p + 4, 4);
    if (type == 0) {
      if (a < 4 || a - 4 > (size_t)(end - p - 8)) return -1;
      size_t dl = a - 4, padded = (dl + 3) & ~(size_t)3;
      if (p + 8 + padded > end) return -1;
      p += 8 + padded; k++;
    } else if (type == 30 || type == 31) p += 8;
    else { if ((w >> 5) == 0 || a > (size_t)(end - p)) break; p += 4 + (a < 4 ? 4 : a); }
  }
  return k;
}
/* Counts a finished file's pages, data bytes, events and the losses its page headers report, so Node
   need not read the files back; "corrupt" leaves that to Node, which names the page. */
static void count(int c, const char *path) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) { if (fd >= 0) close(fd); return; }
  size_t size = (size_t)st.st_size - (size_t)st.st_size % subbuf;
  long long pages = 0, bytes = 0, events = 0, lost = 0, flagged = 0;
  const unsigned char *m = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : NULL;
  close(fd);
  if (m == MAP_FAILED) return;
  for (size_t off = 0; off < size; off += subbuf) {
    long k = records(m + off);
    if (k < 0) { fprintf(stderr, "count %d corrupt\n", c); munmap((void *)m, size); return; }
    uint32_t commit; memcpy(&commit, m + off + 8, 4);
    size_t len = commit & ((1u << 30) - 1);
    pages++; bytes += (long long)len; events += k;
    if (commit & (1u << 31)) {
      int64_t missed;
      if ((commit & (1u << 30)) && 16 + len + 8 <= subbuf) { memcpy(&missed, m + off + 16 + len, 8); lost += missed & 0xffffffff; }
      else flagged++;
    }
  }
  if (m) munmap((void *)m, size);
  fprintf(stderr, "count %d %lld %lld %lld %lld %lld\n", c, pages, bytes, events, lost, flagged);
}
/* The trace file's symbol table, read in C: as a 5 MB JavaScript string it cost Node more than the
   rest of the recording's end (the kernel hands it out 4 KiB per read either way). */
static int copy_kallsyms(const char *path) {
  static char kbuf[1 << 16];
  int in = open("/proc/kallsyms", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc = in < 0 || out < 0 ? -1 : 0;
  ssize_t r;
  while (!rc && ((r = read(in, kbuf, sizeof kbuf)) != 0)) {
    if (r < 0) { if (errno != EINTR) rc = -1; continue; }
    for (ssize_t done = 0, w; !rc && done < r; done += w > 0 ? w : 0)
      if ((w = write(out, kbuf + done, (size_t)(r - done))) < 0 && errno != EINTR) rc = -1;
  }
  if (in >= 0) close(in);
  if (out >= 0 && close(out)) rc = -1;
  return rc;
}
static int fail(const char *what, int c) { fprintf(stderr, "lkst-pump: %s (cpu slot %d): %s\n", what, c, strerror(errno)); return 1; }
int main(int argc, char **argv) {
  if (argc < 8 || (argc - 6) % 2) { fprintf(stderr, "usage: lkst-pump SUBBUF CHUNK_PAGES TRACING_ON|- KALLSYMS_OUT|- COUNT (PIPE OUT)...\n"); return 2; }
  subbuf = (size_t)atol(argv[1]);
  size_t chunk = (size_t)atol(argv[2]) * subbuf;
  const char *tracing_on = strcmp(argv[3], "-") ? argv[3] : NULL;
  const char *kallsyms_out = strcmp(argv[4], "-") ? argv[4] : NULL;
  int counting = atoi(argv[5]) != 0;
  argv += 3;
  int n = (argc - 6) / 2;
  if (n > MAXCPU || subbuf < 4096) return 2;
  /* A busy machine delays a woken pump: ahead of ordinary tasks it drains before the buffer fills
     (its runs are short, so what it takes from them is too). Not root: it stays at 0. */
  if (setpriority(PRIO_PROCESS, 0, -10)) {}
  signal(SIGPIPE, SIG_IGN);
  /* A terminal's Ctrl-C or hangup reaches the recorder, which ends us in order; when it dies our stdin
     closes, and we stop the trace and move every page (signals would lose them). */
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  for (int c = 0; c < n; c++) {
    fds[c].fd = open(argv[3 + 2 * c], O_RDONLY | O_NONBLOCK);
    if (fds[c].fd < 0) return fail("open trace_pipe_raw", c);
    fds[c].events = POLLIN;
    outs[c] = open(argv[4 + 2 * c], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (outs[c] < 0) return fail("open output", c);
    if (pipe(pipes[c])) return fail("pipe", c);
    fcntl(pipes[c][1], F_SETPIPE_SZ, (int)chunk);
  }
  fds[n].fd = 0;
  fds[n].events = POLLIN;
  for (;;) {
    if (poll(fds, (nfds_t)n + 1, -1) < 0) { if (errno == EINTR) continue; return fail("poll", -1); }
    if (fds[n].revents) {
      /* "k" before the end: an orderly finish, whose trace file wants kallsyms (a recorder killed
         leaves no file of it behind: recovery reads its own). */
      char cmd[8];
      ssize_t r = read(0, cmd, sizeof cmd);
      if (r < 0 && errno == EINTR) continue;
      if (r > 0) { if (memchr(cmd, 'k', (size_t)r)) want_kallsyms = 1; continue; }
      break;
    }
    /* Empty the buffer, as trace-cmd does: one chunk per wakeup would leave it hovering at the
       wake-up mark, with only the rest of it as room for a burst while we wait to be scheduled. */
    for (int c = 0; c < n; c++) {
      if (!(fds[c].revents & POLLIN)) continue;
      ssize_t m;
      while ((m = move(c, chunk)) == (ssize_t)chunk) {}
      if (m < 0) return fail("splice", c);
    }
  }
  if (tracing_on) {
    int t = open(tracing_on, O_WRONLY);
    if (t >= 0) { if (write(t, "0", 1) < 0) {} close(t); }
  }
  /* Stopped: whole pages first, then the page the writer left partly filled (read(2) takes it, splice
     does not). A few rounds at most: when tracing goes on (an attached trace) every read would find
     a few new events, and chasing the writer floods the buffer with our own reads. */
  char *buf = malloc(subbuf);
  if (!buf) return 1;
  for (int c = 0; c < n; c++) {
    for (int round = 0; round < 3; round++) {
      ssize_t m;
      while ((m = move(c, chunk)) > 0) {}
      if (m < 0) return fail("splice", c);
      ssize_t r;
      while ((r = read(fds[c].fd, buf, subbuf)) < 0 && errno == EINTR) {}
      if (r <= 0) break;
      memset(buf + r, 0, subbuf - (size_t)r);
      if (put(c, buf, subbuf)) return fail("write", c);
    }
  }
  if (counting) for (int c = 0; c < n; c++) count(c, argv[4 + 2 * c]);
  if (kallsyms_out && want_kallsyms && copy_kallsyms(kallsyms_out) == 0) fprintf(stderr, "kallsyms ok\n");
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fprintf(stderr, "cpu_us %lld\n", (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
  return 0;
}
`;

/** Pages moved per wakeup: small moves keep the reader far behind the writer, as trace-cmd's 64 KiB splices do. */
const CHUNK_PAGES = 16;

/** Builds the pump, or says why it cannot be used (no compiler): the recorder then reads in Node. */
export function pumpBinary(): { path?: string; why?: string } {
  if (process.env.LKST_PUMP === '0') return { why: 'LKST_PUMP=0' };
  try {
    return { path: compiledHelper('lkst-pump', SOURCE) };
  } catch (err) {
    return { why: err instanceof LkstError ? err.what : String(err) };
  }
}

/** What the pump counted in one file: CpuCapture's counters without the CPU. */
export type PumpCount = Omit<CpuCapture, 'cpu' | 'lostInTransit'>;

/** A running pump: per-CPU pipe → file pairs. */
export class Pump {
  private readonly child: ChildProcess;
  private stderr = '';

  /** The page mover's task id (lkst leaves its events out). */
  get pid(): number | undefined {
    return this.child.pid;
  }
  readonly exited: Promise<number | null>;
  private ending = false;

  /**
   * tracingOn: the instance's tracing_on file, turned off when the pump stops (none for an attached
   * trace, which stays armed); kallsymsOut: where it copies /proc/kallsyms when it ends; count: it
   * counts its files when it ends (finish() gives no counts without).
   */
  constructor(bin: string, subbufBytes: number, pairs: { pipe: string; out: string }[], opts: { tracingOn?: string; kallsymsOut?: string; count?: boolean } = {}) {
    const args = [String(subbufBytes), String(CHUNK_PAGES), opts.tracingOn ?? '-', opts.kallsymsOut ?? '-', opts.count ? '1' : '0', ...pairs.flatMap((p) => [p.pipe, p.out])];
    this.child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.on('error', () => resolve(-1));
      this.child.on('exit', (code) => resolve(code));
    });
  }

  /** Calls back if the pump dies while recording (not after finish()). */
  onFailure(cb: (err: LkstError) => void): void {
    void this.exited.then((code) => {
      if (!this.ending) cb(this.failure(code));
    });
  }

  /**
   * Moves what is left (call after tracing is off), waits for it; returns its CPU time in µs and
   * each file's counts by slot (none for a file it could not count: the caller counts it), and
   * whether it copied /proc/kallsyms.
   */
  async finish(): Promise<{ cpuUs: number; counts: (PumpCount | undefined)[]; kallsyms: boolean }> {
    this.ending = true;
    this.child.stdin!.end('k');
    const code = await this.exited;
    if (code !== 0) throw this.failure(code);
    const m = /cpu_us (\d+)/.exec(this.stderr);
    const counts: (PumpCount | undefined)[] = [];
    for (const c of this.stderr.matchAll(/^count (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/gm)) {
      const [slot, pages, bytes, events, lostInPages, lossFlagsWithoutCount] = c.slice(1).map(Number) as [number, number, number, number, number, number];
      counts[slot] = { pages, bytes, events, lostInPages, lossFlagsWithoutCount };
    }
    return { cpuUs: m ? Number(m[1]) : 0, counts, kallsyms: /^kallsyms ok$/m.test(this.stderr) };
  }

  kill(): void {
    this.ending = true;
    this.child.kill('SIGKILL');
  }

  private failure(code: number | null): LkstError {
    const msg = this.stderr.trim().split('\n').pop() || `exit ${code}`;
    return new LkstError(`the recorder's page mover stopped: ${msg}`, 'record with LKST_PUMP=0 to read pages in Node instead');
  }
}
