/**
 * What a dynamic probe costs per hit, side by side with a tracepoint (issue 16): a C loop times N
 * calls of a function (probed by a uprobe, then a uretprobe) and N getppid() syscalls (the
 * raw_syscalls:sys_enter tracepoint), each untraced and under `lkst record`, interleaved; the cost
 * per hit is (traced − untraced) / N from the loop's own clock, so the recorder's start-up is not in it.
 *
 * Environment: LKST_BENCH_RUNS (default 5), LKST_BENCH_CALLS (default 200000), LKST_BENCH_JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/bench/stats.js';

const RUNS = Number(process.env.LKST_BENCH_RUNS ?? 5);
const CALLS = Number(process.env.LKST_BENCH_CALLS ?? 200_000);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const PROGRAM = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
__attribute__((noinline)) long lkst_bench_fn(long a) { __asm__ volatile(""); return a + 1; }
int main(int argc, char **argv) {
  long n = atol(argv[1]), s = 0;
  int sys = strcmp(argv[2], "sys") == 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) s += sys ? syscall(SYS_getppid) : lkst_bench_fn(i);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%lld %ld\\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), s & 1);
  return 0;
}
`;

interface Way {
  name: string;
  mode: 'fn' | 'sys';
  /** The -e of lkst record; none: untraced. */
  event?: (bin: string) => string;
}

const WAYS: Way[] = [
  { name: 'function call, untraced', mode: 'fn' },
  { name: 'function call, uprobe', mode: 'fn', event: (bin) => `uprobe:${bin}:lkst_bench_fn a=%di:s64` },
  { name: 'function call, uretprobe', mode: 'fn', event: (bin) => `uretprobe:${bin}:lkst_bench_fn` },
  { name: 'getppid(), untraced', mode: 'sys' },
  { name: 'getppid(), tracepoint raw_syscalls:sys_enter', mode: 'sys', event: () => 'raw_syscalls:sys_enter' },
];

function loopNs(bin: string, way: Way, dir: string): number {
  const args = [String(CALLS), way.mode];
  const out = way.event
    ? execFileSync(process.execPath, [CLI, 'record', '-q', '-b', '65536', '-e', way.event(bin), '-o', join(dir, 'b.dat'), '--', bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    : execFileSync(bin, args, { encoding: 'utf8' });
  const ns = Number(/^(\d+) /m.exec(out)?.[1]);
  if (!Number.isFinite(ns)) throw new Error(`${way.name}: no timing in ${JSON.stringify(out)}`);
  return ns;
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('run as root: probes and tracing need it');
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-probes-'));
  try {
    const bin = join(dir, 'loop');
    writeFileSync(`${bin}.c`, PROGRAM);
    execFileSync('cc', ['-O1', '-o', bin, `${bin}.c`]);
    const load0 = loadavg()[0]!;
    const ns = new Map<string, number[]>(WAYS.map((w) => [w.name, []]));
    for (let r = 0; r < RUNS; r++) for (const w of WAYS) ns.get(w.name)!.push(loopNs(bin, w, dir));
    const med = (name: string) => median(ns.get(name)!);
    const rows = WAYS.map((w) => {
      const base = med(WAYS.find((x) => x.mode === w.mode && !x.event)!.name);
      const perCall = med(w.name) / CALLS;
      return { way: w.name, nsPerCall: perCall, nsPerHit: w.event ? (med(w.name) - base) / CALLS : undefined };
    });
    const tp = rows.find((r) => r.way.includes('tracepoint'))!.nsPerHit!;
    console.log(`probe cost per hit, ${CALLS.toLocaleString('en-US')} calls, medians of ${RUNS} interleaved runs; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
    console.log('| way | ns per call | ns per hit (traced − untraced) | vs the tracepoint |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(`| ${r.way} | ${r.nsPerCall.toFixed(0)} | ${r.nsPerHit === undefined ? '' : r.nsPerHit.toFixed(0)} | ${r.nsPerHit === undefined ? '' : `${(r.nsPerHit / tp).toFixed(1)}x`} |`);
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify({ calls: CALLS, runs: RUNS, rows }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
