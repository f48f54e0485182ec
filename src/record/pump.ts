import { spawn, type ChildProcess } from 'node:child_process';
import { LkstError } from '../base/errors.js';
import { compiledHelper } from '../native/compile.js';

/**
 * The recorder's data mover: a small C program that sleeps in poll() on every CPU's
 * trace_pipe_raw and splices whole pages into the per-CPU files. Measured on a loopback web
 * server: a reader woken by timers (anything Node can do) cost ~8-10% more requests/s than the
 * events themselves; one woken by the kernel when a buffer passes buffer_percent, moving 16 pages
 * per wakeup, costs nothing beyond them. Node never touches the data while recording.
 *
 * argv: SUBBUF_BYTES CHUNK_PAGES TRACING_ON|- (PIPE OUT)...; closing its stdin ends it: it turns
 * the instance's tracing_on off (unless "-"), moves what is left (splice takes only full pages,
 * read(2) the last partial one) and exits 0. Its stdin also closes when the recorder is killed
 * (kill -9): the trace then stops where the recorder died and every page reaches the files.
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
#include <sys/resource.h>
#include <unistd.h>
#define MAXCPU 1024
static struct pollfd fds[MAXCPU + 1];
static int outs[MAXCPU], pipes[MAXCPU][2];
static size_t subbuf;
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
static int fail(const char *what, int c) { fprintf(stderr, "lkst-pump: %s (cpu slot %d): %s\n", what, c, strerror(errno)); return 1; }
int main(int argc, char **argv) {
  if (argc < 6 || (argc - 4) % 2) { fprintf(stderr, "usage: lkst-pump SUBBUF CHUNK_PAGES TRACING_ON|- (PIPE OUT)...\n"); return 2; }
  subbuf = (size_t)atol(argv[1]);
  size_t chunk = (size_t)atol(argv[2]) * subbuf;
  const char *tracing_on = strcmp(argv[3], "-") ? argv[3] : NULL;
  argv++;
  int n = (argc - 4) / 2;
  if (n > MAXCPU || subbuf < 4096) return 2;
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
    if (fds[n].revents) break;
    for (int c = 0; c < n; c++)
      if ((fds[c].revents & POLLIN) && move(c, chunk) < 0) return fail("splice", c);
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

  /** tracingOn: the instance's tracing_on file, turned off when the pump stops (none for an attached trace, which stays armed). */
  constructor(bin: string, subbufBytes: number, pairs: { pipe: string; out: string }[], tracingOn?: string) {
    this.child = spawn(bin, [String(subbufBytes), String(CHUNK_PAGES), tracingOn ?? '-', ...pairs.flatMap((p) => [p.pipe, p.out])], { stdio: ['pipe', 'ignore', 'pipe'] });
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

  /** Moves what is left (call after tracing is off), waits for it; returns its CPU time in µs. */
  async finish(): Promise<number> {
    this.ending = true;
    this.child.stdin!.end();
    const code = await this.exited;
    if (code !== 0) throw this.failure(code);
    const m = /cpu_us (\d+)/.exec(this.stderr);
    return m ? Number(m[1]) : 0;
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
