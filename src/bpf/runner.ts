/**
 * Runs a BPF object's programs attached to their tracepoints and keeps what they record:
 * `lkst-bpf-run`, C on libbpf, compiled on first use. It loads the object, attaches every program,
 * prints the count handlers' tables (maps `lkst_count_*`) at the end (and every second into a file, when given), and consumes the ring buffer map `lkst_out`: each record is `struct lkst_rec { u64 ts; u32 len;
 * u32 cpu; u8 data[len]; }` (ts from bpf_ktime_get_ns, the `mono` trace clock; data laid out as a
 * tracepoint's record, common_type first). Records go to one file per CPU as they come
 * (`cpuN.rec`: u64 ts, u32 len, u32 0, data padded to 8 bytes), so Node turns them into ring-buffer
 * pages afterwards (record-stream.ts). It stops when its stdin closes (the recorder ended or died):
 * it detaches, drains the ring buffer, and says per CPU how many records it wrote and how many the
 * programs could not reserve (the per-CPU array `lkst_lost`, when the object has one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { compiledHelper } from '../native/compile.js';
import { LIBBPF_LINK } from './check.js';
import { parseCountLines, type RawCount } from './counts.js';

const SOURCE = String.raw`
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#define MAXCPU 1024
#define MAXBUF 16
/* cpu: the CPU in the low 16 bits, the buffer (bpf, then the routes') or an alert's unit in the high 16. */
struct rec { unsigned long long ts; unsigned int len; unsigned int cpu; unsigned char data[]; };
static FILE *outs[MAXBUF][MAXCPU];
static unsigned long long written[MAXBUF][MAXCPU];
static const char *dir;
static int bad;
static int say(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, ap);
}
/* One record into a record file: u64 ts, u32 len, u32 word, data padded to 8 bytes; 0 when written. */
static int put_rec(FILE *f, const struct rec *r, unsigned int word) {
  static const unsigned char zero[8];
  unsigned int head[2] = { r->len, word }, pad = (8 - r->len % 8) % 8;
  return fwrite(&r->ts, 8, 1, f) != 1 || fwrite(head, 8, 1, f) != 1 || fwrite(r->data, 1, r->len, f) != r->len || fwrite(zero, 1, pad, f) != pad;
}
static int on_rec(void *ctx, void *data, size_t size) {
  struct rec *r = data;
  unsigned int cpu = r->cpu & 0xffff, buf = r->cpu >> 16;
  if (size < sizeof(*r) || r->len > size - sizeof(*r) || cpu >= MAXCPU || buf >= MAXBUF) { bad++; return 0; }
  if (!outs[buf][cpu]) {
    char path[4096];
    if (buf) snprintf(path, sizeof path, "%s/b%u-cpu%u.rec", dir, buf, cpu);
    else snprintf(path, sizeof path, "%s/cpu%u.rec", dir, cpu);
    outs[buf][cpu] = fopen(path, "w");
    if (!outs[buf][cpu]) { fprintf(stderr, "lkst-bpf-run: cannot write %s: %s\n", path, strerror(errno)); return -1; }
  }
  if (put_rec(outs[buf][cpu], r, 0)) { fprintf(stderr, "lkst-bpf-run: write: %s\n", strerror(errno)); return -1; }
  written[buf][cpu]++;
  return 0;
}
/* Alerts go to LIVE/alerts as they come ("alert UNIT TS CPU RECORDHEX" lines, for lkst watch). */
static FILE *alerts_file;
static unsigned long long alerts, alerts_unshown;
/* The file's bound: alerts past it are counted, not written (an alert on every event of a storm would fill the disk). */
#define ALERTS_FILE_MAX (64ULL << 20)
static unsigned long long alerts_bytes;
/* Every alert also goes to DIR/alerts.rec whole (u64 ts, u32 len, u32 unit<<16|cpu, data padded to 8): the trace's lkst/alert events. */
static FILE *alerts_rec;
static int on_alert(void *ctx, void *data, size_t size) {
  struct rec *r = data;
  if (size < sizeof(*r) || r->len > size - sizeof(*r)) { bad++; return 0; }
  alerts++;
  if (!alerts_rec || put_rec(alerts_rec, r, r->cpu)) { fprintf(stderr, "lkst-bpf-run: alerts.rec: %s\n", strerror(errno)); return -1; }
  if (!alerts_file) return 0;
  alerts_bytes += 48 + 2ULL * r->len;
  if (alerts_bytes > ALERTS_FILE_MAX) { alerts_unshown++; return 0; }
  fprintf(alerts_file, "alert %u %llu %u ", r->cpu >> 16, r->ts, r->cpu & 0xffff);
  for (unsigned int i = 0; i < r->len; i++) fprintf(alerts_file, "%02x", r->data[i]);
  fputc('\n', alerts_file);
  fflush(alerts_file);
  return 0;
}
/* Every count map's table (lkst_count_*): "count MAP KEYHEX VALUE" lines. */
static int dump_counts(struct bpf_object *obj, FILE *f) {
  struct bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    if (strncmp(bpf_map__name(m), "lkst_count_", 11)) continue;
    unsigned int ks = bpf_map__key_size(m);
    unsigned char key[256], next[256];
    unsigned long long value;
    int fd = bpf_map__fd(m), first = 1;
    if (ks > sizeof key) { fprintf(stderr, "lkst-bpf-run: a count key of %u bytes\n", ks); return -1; }
    while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
      first = 0;
      memcpy(key, next, ks);
      if (bpf_map_lookup_elem(fd, key, &value)) continue;
      fprintf(f, "count %s ", bpf_map__name(m));
      for (unsigned int i = 0; i < ks; i++) fprintf(f, "%02x", key[i]);
      fprintf(f, " %llu\n", value);
    }
  }
  return 0;
}
/* The live directory (lkst status, lkst maskset switch): counts, ctl (a FIFO of commands), reply. */
static const char *live;
/* Writes LIVE/name beside and renames it, so a reader sees a whole file. */
static FILE *live_open(const char *name, char *tmp, size_t n) {
  snprintf(tmp, n, "%s/%s.tmp", live, name);
  return fopen(tmp, "w");
}
static void live_close(FILE *f, const char *tmp, const char *name, int bad) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", live, name);
  if (fclose(f) || bad || rename(tmp, path)) unlink(tmp);
}
static void live_counts(struct bpf_object *obj) {
  char tmp[4200];
  FILE *f = live_open("counts", tmp, sizeof tmp);
  if (f) live_close(f, tmp, "counts", dump_counts(obj, f));
}
static long long ns_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}
/* Replaces a pid set (a hash map of u32 -> u8) with the given pids. */
static int set_pids(int fd, char *list) {
  unsigned int key, next;
  while (bpf_map_get_next_key(fd, NULL, &next) == 0) { key = next; if (bpf_map_delete_elem(fd, &key)) return -1; }
  unsigned char one = 1;
  for (char *s = list, *end; s && *s; s = end) {
    unsigned long v = strtoul(s, &end, 10);
    if (end == s) break;
    unsigned int p = (unsigned int)v;
    if (bpf_map_update_elem(fd, &p, &one, BPF_ANY)) return -1;
  }
  return 0;
}
/*
 * One command: "current N" makes maskset N the one in force (one map write); "pids MAP P..." sets a
 * handler's pid set; "params MAP V..." a user handler's parameters. Each is timed (CLOCK_MONOTONIC,
 * the clock of bpf_ktime_get_ns); the answer is one line into f.
 */
static void command(struct bpf_object *obj, const char *line, FILE *f) {
  unsigned int idx;
  char map[64];
  int off = 0;
  long long t0 = ns_now();
  if (sscanf(line, "current %u", &idx) == 1) {
    int fd = bpf_object__find_map_fd_by_name(obj, "lkst_current");
    unsigned int z = 0;
    int err = fd < 0 ? -1 : bpf_map_update_elem(fd, &z, &idx, BPF_ANY);
    long long t1 = ns_now();
    if (err) fprintf(f, "error %s\n", fd < 0 ? "no table" : strerror(errno));
    else fprintf(f, "ok current %u window_ns %lld\n", idx, t1 - t0);
  } else if (sscanf(line, "pids %63s%n", map, &off) == 1 && !strncmp(map, "lkst_pids_", 10)) {
    int fd = bpf_object__find_map_fd_by_name(obj, map);
    int err = fd < 0 ? -1 : set_pids(fd, (char *)line + off);
    long long t1 = ns_now();
    if (err) fprintf(f, "error %s\n", fd < 0 ? "no such pid set" : strerror(errno));
    else fprintf(f, "ok pids %s window_ns %lld\n", map, t1 - t0);
  } else if (sscanf(line, "params %63s%n", map, &off) == 1 && !strncmp(map, "lkst_param_", 11)) {
    /* A user handler's parameters: slot i of its array map takes the i-th value. */
    int fd = bpf_object__find_map_fd_by_name(obj, map), err = fd < 0 ? -1 : 0;
    unsigned int k = 0;
    for (char *s = (char *)line + off, *end; !err && *s; s = end, k++) {
      unsigned long long v = strtoull(s, &end, 10);
      if (end == s) break;
      err = bpf_map_update_elem(fd, &k, &v, BPF_ANY);
    }
    long long t1 = ns_now();
    if (err) fprintf(f, "error %s\n", fd < 0 ? "no such parameter map" : strerror(errno));
    else fprintf(f, "ok params %s window_ns %lld at_ns %lld %lld\n", map, t1 - t0, t0, t1);
  } else fprintf(f, "error unknown command\n");
}
static void live_command(struct bpf_object *obj, const char *line) {
  char tmp[4200];
  FILE *f = live_open("reply", tmp, sizeof tmp);
  if (!f) return;
  command(obj, line, f);
  live_close(f, tmp, "reply", 0);
}
/* LKST_INIT: commands run before the programs attach (the pid sets they start with); any error stops the run. */
static int init_commands(struct bpf_object *obj) {
  const char *path = getenv("LKST_INIT");
  if (!path || !*path) return 0;
  FILE *in = fopen(path, "r");
  if (!in) { fprintf(stderr, "lkst-bpf-run: cannot read %s: %s\n", path, strerror(errno)); return -1; }
  char line[65536], answer[256];
  int rc = 0;
  while (!rc && fgets(line, sizeof line, in)) {
    FILE *f = fmemopen(answer, sizeof answer, "w");
    if (!f) { rc = -1; break; }
    command(obj, line, f);
    fclose(f);
    if (strncmp(answer, "ok", 2)) { fprintf(stderr, "lkst-bpf-run: %s: %s", line, answer); rc = -1; }
  }
  fclose(in);
  return rc;
}
/* Sum over CPUs of a per-CPU array's element k. */
static unsigned long long percpu_sum_k(struct bpf_object *obj, const char *name, unsigned int k, int ncpu, unsigned long long *each) {
  int fd = bpf_object__find_map_fd_by_name(obj, name);
  unsigned long long sum = 0;
  memset(each, 0, (size_t)ncpu * 8);
  if (fd < 0 || bpf_map_lookup_elem(fd, &k, each)) return 0;
  for (int c = 0; c < ncpu; c++) sum += each[c];
  return sum;
}
/* Sum over CPUs of a per-CPU array's first element. */
static unsigned long long percpu_sum(struct bpf_object *obj, const char *name, int ncpu, unsigned long long *each) {
  return percpu_sum_k(obj, name, 0, ncpu, each);
}
/* Probes' programs (probe-programs.ts): "uprobe.s/PATH:0xOFFSET" attached at that file offset, lkst
   having resolved the symbol; every other program as libbpf's section says. */
static struct bpf_link *lkst_attach(struct bpf_program *p) {
  const char *s = bpf_program__section_name(p);
  int ret = !strncmp(s, "uretprobe.s/", 12);
  if (!ret && strncmp(s, "uprobe.s/", 9)) return bpf_program__attach(p);
  const char *path = strchr(s, '/') + 1, *colon = strrchr(path, ':');
  char file[4096];
  if (!colon || (size_t)(colon - path) >= sizeof file) { errno = EINVAL; return NULL; }
  memcpy(file, path, (size_t)(colon - path));
  file[colon - path] = 0;
  return bpf_program__attach_uprobe(p, ret, -1, file, (size_t)strtoull(colon + 1, NULL, 16));
}
/* LKST_DAEMON: no recorder holds stdin; SIGTERM ends the run instead (lkst stop, lkst reset). */
static volatile sig_atomic_t terminated;
static void on_term(int sig) { (void)sig; terminated = 1; }
int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) { fprintf(stderr, "usage: lkst-bpf-run OBJECT DIR [LIVE-DIR]\n"); return 2; }
  dir = argv[2];
  if (argc == 4) live = argv[3];
  libbpf_set_print(say);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  const char *daemon_env = getenv("LKST_DAEMON");
  int daemon_mode = daemon_env && *daemon_env;
  signal(SIGTERM, daemon_mode ? on_term : SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) { fprintf(stderr, "lkst-bpf-run: cannot open %s\n", argv[1]); return 2; }
  if (bpf_object__load(obj)) return 1;
  /* The recorder's processes (LKST_SKIP_TGIDS) and this one: their events are lkst's own. */
  int skip = bpf_object__find_map_fd_by_name(obj, "lkst_skip");
  if (skip >= 0) {
    unsigned char one = 1;
    unsigned int self = (unsigned int)getpid();
    bpf_map_update_elem(skip, &self, &one, BPF_ANY);
    for (char *s = getenv("LKST_SKIP_TGIDS"), *end; s && *s; s = end) {
      unsigned long v = strtoul(s, &end, 10);
      if (end == s) break;
      unsigned int t = (unsigned int)v;
      bpf_map_update_elem(skip, &t, &one, BPF_ANY);
    }
  }
  if (init_commands(obj)) return 1;
  /* Records come through lkst_out, alerts through lkst_alerts; a handler that only counts has neither. */
  int out = bpf_object__find_map_fd_by_name(obj, "lkst_out");
  int alert = bpf_object__find_map_fd_by_name(obj, "lkst_alerts");
  struct ring_buffer *rb = NULL;
  if (out >= 0) rb = ring_buffer__new(out, on_rec, NULL, NULL);
  if (alert >= 0) {
    char rec[4200];
    snprintf(rec, sizeof rec, "%s/alerts.rec", dir);
    alerts_rec = fopen(rec, "w");
    if (!alerts_rec) { fprintf(stderr, "lkst-bpf-run: cannot write %s: %s\n", rec, strerror(errno)); return 1; }
    if (live) {
      char path[4200];
      snprintf(path, sizeof path, "%s/alerts", live);
      alerts_file = fopen(path, "w");
    }
    if (rb) { if (ring_buffer__add(rb, alert, on_alert, NULL)) { ring_buffer__free(rb); rb = NULL; } }
    else rb = ring_buffer__new(alert, on_alert, NULL, NULL);
  }
  if ((out >= 0 || alert >= 0) && !rb) { fprintf(stderr, "lkst-bpf-run: ring buffer: %s\n", strerror(errno)); return 1; }
  /* A program per tracepoint and a guard beside most (codegen.ts). */
  static struct bpf_link *links[2048];
  int nlinks = 0;
  struct bpf_program *p;
  bpf_object__for_each_program(p, obj) {
    if (nlinks == 2048) { fprintf(stderr, "lkst-bpf-run: more than 2048 programs\n"); return 2; }
    links[nlinks] = lkst_attach(p);
    if (!links[nlinks]) { fprintf(stderr, "lkst-bpf-run: cannot attach %s: %s\n", bpf_program__name(p), strerror(errno)); return 1; }
    nlinks++;
  }
  /* Made before "attached": a switch may come at once. Opened read-write: the FIFO never reads as closed while no writer has it open. */
  int ctl = -1;
  if (live) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ctl", live);
    unlink(path);
    if (mkfifo(path, 0600) == 0) ctl = open(path, O_RDWR | O_NONBLOCK);
  }
  printf("attached %d\n", nlinks);
  fflush(stdout);
  struct pollfd in[2] = { { .fd = daemon_mode ? -1 : 0, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
  struct timespec last = { 0, 0 };
  char cmd[256];
  size_t cmdlen = 0;
  while (!terminated) {
    if (rb && ring_buffer__poll(rb, 50) < 0 && errno != EINTR) { fprintf(stderr, "lkst-bpf-run: poll: %s\n", strerror(errno)); return 1; }
    /* Records submitted without a wakeup (codegen.ts lkst_submit) are read here. */
    if (rb && ring_buffer__consume(rb) < 0) { fprintf(stderr, "lkst-bpf-run: read: %s\n", strerror(errno)); return 1; }
    if (poll(in, ctl >= 0 ? 2 : 1, rb ? 0 : 50) > 0) {
      char b[64];
      if (in[0].revents && read(0, b, sizeof b) <= 0) break;
      if (ctl >= 0 && in[1].revents) {
        ssize_t n = read(ctl, cmd + cmdlen, sizeof cmd - 1 - cmdlen);
        if (n > 0) cmdlen += (size_t)n;
        char *nl;
        while ((cmd[cmdlen] = 0, nl = strchr(cmd, '\n'))) {
          *nl = 0;
          live_command(obj, cmd);
          cmdlen -= (size_t)(nl + 1 - cmd);
          memmove(cmd, nl + 1, cmdlen);
        }
        if (cmdlen == sizeof cmd - 1) cmdlen = 0;
      }
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (live && now.tv_sec != last.tv_sec) { last = now; live_counts(obj); }
  }
  for (int i = 0; i < nlinks; i++) bpf_link__destroy(links[i]);
  if (rb) while (ring_buffer__consume(rb) > 0) ;
  /* Runs the kernel skipped: a program does not run while another BPF program runs on that CPU
     (its recursion guard); each skip is an event its handlers never saw. */
  struct bpf_program *mp;
  bpf_object__for_each_program(mp, obj) {
    struct bpf_prog_info info;
    __u32 len = sizeof info;
    memset(&info, 0, sizeof info);
    if (!bpf_obj_get_info_by_fd(bpf_program__fd(mp), &info, &len) && info.recursion_misses) printf("missed %s %llu\n", bpf_program__name(mp), (unsigned long long)info.recursion_misses);
  }
  if (dump_counts(obj, stdout)) return 2;
  int ncpu = libbpf_num_possible_cpus();
  unsigned long long *lost = calloc((size_t)ncpu, 8);
  printf("nokey %llu\n", percpu_sum(obj, "lkst_nokey", ncpu, lost));
  /* The guards' per-CPU counts (lkst_missed: 0 events a tracepoint/ program missed, 1 not known, 2 the recorder's own missed). */
  if (bpf_object__find_map_by_name(obj, "lkst_missed"))
    for (unsigned int k = 0; k < 3; k++) {
      percpu_sum_k(obj, "lkst_missed", k, ncpu, lost);
      for (int c = 0; c < ncpu; c++) if (lost[c]) printf("guard %u cpu %d %llu\n", k, c, lost[c]);
    }
  printf("alerts %llu lost %llu unshown %llu\n", alerts, percpu_sum(obj, "lkst_alert_lost", ncpu, lost), alerts_unshown);
  if (alerts_rec) {
    for (int c = 0; c < ncpu && c < MAXCPU; c++) printf("alertcpu %d lost %llu\n", c, lost[c]);
    if (fclose(alerts_rec)) { fprintf(stderr, "lkst-bpf-run: close: %s\n", strerror(errno)); return 1; }
  }
  struct bpf_map *lm = bpf_object__find_map_by_name(obj, "lkst_lost");
  unsigned int nbuf = lm ? bpf_map__max_entries(lm) : 1;
  for (unsigned int b = 0; b < nbuf && b < MAXBUF; b++) {
    percpu_sum_k(obj, "lkst_lost", b, ncpu, lost);
    for (int c = 0; c < ncpu && c < MAXCPU; c++) {
      if (outs[b][c] && fclose(outs[b][c])) { fprintf(stderr, "lkst-bpf-run: close: %s\n", strerror(errno)); return 1; }
      printf("buf %u cpu %d written %llu lost %llu\n", b, c, written[b][c], lost[c]);
    }
  }
  if (alerts_file) fclose(alerts_file);
  printf("malformed %d\n", bad);
  return 0;
}
`;

export interface BpfRunCpu {
  cpu: number;
  written: number;
  /** Records the programs could not reserve in the ring buffer (it was full). */
  lost: number;
}

export interface BpfRunResult {
  /** The buffer bpf's CPUs (buffers[0]). */
  cpus: BpfRunCpu[];
  /** Per record buffer (bpf, then each route's, by index): each CPU's records written and lost. */
  buffers: BpfRunCpu[][];
  /** Alerts the handlers raised and those that found the alert ring full (exact, over all CPUs). */
  alerts: number;
  alertsLost: number;
  /** Alerts not written for lkst watch: its file reached its bound (64 MiB). */
  alertsUnshown: number;
  /** Per CPU, alerts that found the alert ring full (when the object alerts). */
  alertCpus: Array<{ cpu: number; lost: number }>;
  /** The count handlers' tables: each map's keys (bytes) and counts. */
  counts: RawCount[];
  /** Keys the count handlers could not store (their map was full): counted nowhere. */
  nokey: number;
  /** Ring-buffer records too short for their header (a program's bug): counted, not written. */
  malformed: number;
  /** Events a program never ran for (the kernel's recursion guard), per program (guards included). */
  missed: Array<{ program: string; count: number }>;
  /** The guards' counts per CPU: events a tracepoint/ program missed, and of the recorder's own processes; checks whose CPU count could not be read. */
  guard: { missed: Map<number, number>; own: number; unread: number };
}

/** The guard programs' counts: per CPU the events the kernel skipped lkst's programs for, and those not to count. */
function guardCounts(out: string): BpfRunResult['guard'] {
  const g: BpfRunResult['guard'] = { missed: new Map(), own: 0, unread: 0 };
  for (const m of out.matchAll(/^guard (\d) cpu (\d+) (\d+)$/gm)) {
    const n = Number(m[3]);
    if (m[1] === '0') g.missed.set(Number(m[2]), n);
    else if (m[1] === '1') g.unread += n;
    else g.own += n;
  }
  return g;
}

/** What lkst-bpf-run printed at its end, as data. */
export function parseRunOutput(out: string): BpfRunResult {
  const buffers: BpfRunCpu[][] = [];
  for (const m of out.matchAll(/^buf (\d+) cpu (\d+) written (\d+) lost (\d+)$/gm)) (buffers[Number(m[1])] ??= []).push({ cpu: Number(m[2]), written: Number(m[3]), lost: Number(m[4]) });
  const alerts = /^alerts (\d+) lost (\d+) unshown (\d+)$/m.exec(out);
  return {
    cpus: buffers[0] ?? [],
    buffers,
    alerts: Number(alerts?.[1] ?? 0),
    alertsLost: Number(alerts?.[2] ?? 0),
    alertsUnshown: Number(alerts?.[3] ?? 0),
    alertCpus: [...out.matchAll(/^alertcpu (\d+) lost (\d+)$/gm)].map((m) => ({ cpu: Number(m[1]), lost: Number(m[2]) })),
    counts: parseCountLines(out),
    nokey: Number(/^nokey (\d+)$/m.exec(out)?.[1] ?? 0),
    malformed: Number(/^malformed (\d+)$/m.exec(out)?.[1] ?? 0),
    missed: [...out.matchAll(/^missed (\S+) (\d+)$/gm)].map((m) => ({ program: m[1]!, count: Number(m[2]) })),
    guard: guardCounts(out),
  };
}

/** The loader's reason (from lkst-bpf-run's stderr) as one error. */
export function runFailure(stderr: string, code: number | null): LkstError {
  const lines = stderr.split('\n').map((l) => l.replace(/^libbpf: /, '').trim()).filter(Boolean);
  const why = lines.find((l) => /lkst-bpf-run|failed|error|invalid/i.test(l)) ?? lines.at(-1) ?? `exit ${code}`;
  return new LkstError(`the BPF handlers could not run: ${why}`, 'check the handler with lkst features and the verifier message');
}

/** The runner's environment: the tgids to leave out, and its start commands (a file in dir). */
export function runnerEnv(dir: string, skipTgids: readonly number[], init: readonly string[]): NodeJS.ProcessEnv {
  const initFile = join(dir, 'init');
  writeFileSync(initFile, init.map((l) => `${l}\n`).join(''));
  return { ...process.env, LKST_SKIP_TGIDS: skipTgids.join(' '), LKST_INIT: initFile };
}

export function runnerPath(): string {
  return compiledHelper('lkst-bpf-run', SOURCE, undefined, LIBBPF_LINK);
}

/** A running lkst-bpf-run: its programs are attached once started() resolves. */
export class BpfRun {
  private readonly child: ChildProcess;
  private out = '';
  private err = '';
  private readonly exited: Promise<number | null>;

  /**
   * live: a directory where the runner rewrites the count tables every second (counts, for lkst
   * status) and takes commands (ctl, a FIFO; its answer in reply); skipTgids: processes whose
   * events the handlers leave out; init: commands run before the programs attach (`pids MAP P...`).
   */
  constructor(
    object: string,
    readonly dir: string,
    live?: string,
    skipTgids: readonly number[] = [],
    init: readonly string[] = [],
  ) {
    this.child = spawn(runnerPath(), [object, dir, ...(live ? [live] : [])], { env: runnerEnv(dir, skipTgids, init), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.err += d));
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  /** Resolves once every program is attached; rejects with the loader's reason when one is not. */
  async started(): Promise<number> {
    for (;;) {
      const m = /^attached (\d+)$/m.exec(this.out);
      if (m) return Number(m[1]);
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw this.failure();
      await Promise.race([once(this.child.stdout!, 'data'), this.exited]);
    }
  }

  /** Detaches, drains and reports per CPU what was written and lost. */
  async finish(): Promise<BpfRunResult> {
    this.child.stdin!.end();
    const code = await this.exited;
    if (code !== 0) throw this.failure();
    return parseRunOutput(this.out);
  }

  /** The runner's process id (its own events are left out of what it records). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Ends the runner at once (a recording that failed); its programs detach as it exits. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Every alert raised, whole, in order (u64 ts, u32 len, u32 unit << 16 | cpu, the record padded to 8 bytes). */
  get alertsFile(): string {
    return join(this.dir, 'alerts.rec');
  }

  /** The record file of a CPU in buffer buf (0: bpf). */
  recordFile(cpu: number, buf = 0): string {
    return join(this.dir, buf ? `b${buf}-cpu${cpu}.rec` : `cpu${cpu}.rec`);
  }

  private failure(): LkstError {
    return runFailure(this.err, this.child.exitCode);
  }
}
