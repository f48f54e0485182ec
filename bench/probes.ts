/**
 * What a dynamic probe costs per hit, side by side with a tracepoint (issue 16): a C loop times N
 * calls of a function (probed by a uprobe, then a uretprobe, on ftrace and on the BPF engine) and N getppid() syscalls (the
 * raw_syscalls:sys_enter tracepoint), each untraced and under `lkst record`, interleaved; the cost
 * per hit is (traced − untraced) / N from the loop's own clock, so the recorder's start-up is not in it.
 * LKST_BENCH_CLOCK=cpu times the loop's CPU time (CLOCK_THREAD_CPUTIME_ID: the trap, the probe and
 * its handler run in the probed thread) instead of the wall clock, which other load on the machine inflates.
 *
 * Kernel probes (kprobe, kretprobe, fprobe entry and exit, an eprobe, the function and function_graph
 * tracers) on getppid()'s kernel functions where the kernel has them: this host has none, so
 * LKST_BENCH_GUEST=1 runs the whole benchmark inside a Debian 6.12 QEMU guest (scripts/guest; TCG:
 * every figure is inflated, compare the ratios to the tracepoint of the same run).
 *
 * Environment: LKST_BENCH_RUNS (default 5; 1 in a guest), LKST_BENCH_CALLS (default 200000; 20000 in
 * a guest), LKST_BENCH_JSON, LKST_BENCH_GUEST.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/bench/stats.js';
import { detectFeatures } from '../src/tracefs/features.js';
import { tracefs } from '../src/tracefs/tracefs.js';
import { runInGuest } from '../scripts/guest/guest.js';
import { cliPath } from '../src/base/project-root.js';

const RUNS = Number(process.env.LKST_BENCH_RUNS ?? 5);
const CALLS = Number(process.env.LKST_BENCH_CALLS ?? 200_000);
const GUEST = process.env.LKST_BENCH_GUEST === '1';
const CLOCK = process.env.LKST_BENCH_CLOCK === 'cpu' ? 'cpu' : 'wall';
const CLI = cliPath();

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
  clockid_t clk = argc > 3 && strcmp(argv[3], "cpu") == 0 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
  clock_gettime(clk, &a);
  for (long i = 0; i < n; i++) s += sys ? syscall(SYS_getppid) : lkst_bench_fn(i);
  clock_gettime(clk, &b);
  printf("%lld %ld\\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), s & 1);
  return 0;
}
`;

interface Way {
  name: string;
  mode: 'fn' | 'sys';
  /** The -e of lkst record; none (and no maskset): untraced. */
  event?: (bin: string) => string;
  /** A maskset line instead (handlers on BPF take one). */
  maskset?: (bin: string) => string;
  /** What the kernel must have for it. */
  needs?: 'kprobes' | 'fprobes' | 'eprobes' | 'function' | 'function_graph';
}

const WAYS: Way[] = [
  { name: 'function call, untraced', mode: 'fn' },
  { name: 'function call, uprobe', mode: 'fn', event: (bin) => `uprobe:${bin}:lkst_bench_fn a=%di:s64` },
  { name: 'function call, uretprobe', mode: 'fn', event: (bin) => `uretprobe:${bin}:lkst_bench_fn` },
  { name: 'function call, uprobe on BPF (record engine=bpf)', mode: 'fn', maskset: (bin) => `uprobe:${bin}:lkst_bench_fn a=%di:s64 record engine=bpf` },
  { name: 'function call, uretprobe on BPF (record engine=bpf)', mode: 'fn', maskset: (bin) => `uretprobe:${bin}:lkst_bench_fn record engine=bpf` },
  { name: 'function call, uprobe on BPF (count by=a)', mode: 'fn', maskset: (bin) => `uprobe:${bin}:lkst_bench_fn a=%di:s64 count by=a` },
  { name: 'getppid(), untraced', mode: 'sys' },
  { name: 'getppid(), tracepoint raw_syscalls:sys_enter', mode: 'sys', event: () => 'raw_syscalls:sys_enter' },
  { name: 'getppid(), kprobe __x64_sys_getppid', mode: 'sys', event: () => 'kprobe:__x64_sys_getppid', needs: 'kprobes' },
  { name: 'getppid(), kretprobe __x64_sys_getppid', mode: 'sys', event: () => 'kretprobe:__x64_sys_getppid', needs: 'kprobes' },
  { name: 'getppid(), fprobe __do_sys_getppid', mode: 'sys', event: () => 'fprobe:__do_sys_getppid', needs: 'fprobes' },
  { name: 'getppid(), fprobe __do_sys_getppid%return', mode: 'sys', event: () => 'fprobe:__do_sys_getppid%return', needs: 'fprobes' },
  { name: 'getppid(), eprobe on syscalls:sys_enter_getppid', mode: 'sys', event: () => 'eprobe:syscalls/sys_enter_getppid nr=$__syscall_nr', needs: 'eprobes' },
  { name: 'getppid(), function tracer on __do_sys_getppid', mode: 'sys', event: () => 'function:__do_sys_getppid', needs: 'function' },
  { name: 'getppid(), function_graph tracer on __do_sys_getppid', mode: 'sys', event: () => 'function_graph:__do_sys_getppid', needs: 'function_graph' },
];

/** The ways this kernel can run. */
function usableWays(): Way[] {
  const top = tracefs();
  const readme = top.has('README') ? top.read('README') : '';
  const f = detectFeatures(top);
  const tracers = top.has('available_tracers') ? top.read('available_tracers').split(/\s+/) : [];
  const has: Record<NonNullable<Way['needs']>, boolean> = {
    kprobes: f.kprobes,
    fprobes: /^\s*f\[/m.test(readme),
    eprobes: f.eventProbes,
    function: f.functionTracer,
    function_graph: f.functionTracer && tracers.includes('function_graph'),
  };
  // In the guest only the kernel's ways: a uprobe run panicked the TCG guest (ttwu_do_activate); uprobes are measured on the host.
  const kernelOnly = process.env.LKST_BENCH_KERNEL_ONLY === '1';
  return WAYS.filter((w) => (!w.needs || has[w.needs]) && !(kernelOnly && w.mode === 'fn'));
}

function loopNs(bin: string, way: Way, dir: string): number {
  const args = [String(CALLS), way.mode, CLOCK];
  const config = join(dir, 'config');
  if (way.maskset) {
    mkdirSync(join(config, 'masksets'), { recursive: true });
    writeFileSync(join(config, 'masksets', 'bench.maskset'), `${way.maskset(bin)}\n`);
  }
  const what = way.maskset ? ['-m', 'bench'] : way.event ? ['-e', way.event(bin)] : undefined;
  const out = what
    ? execFileSync(process.execPath, [CLI, 'record', '-q', '-b', '65536', ...what, '-o', join(dir, 'b.dat'), '--', bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LKST_CONFIG_DIR: config } })
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
    const ways = usableWays();
    const ns = new Map<string, number[]>(ways.map((w) => [w.name, []]));
    for (let r = 0; r < RUNS; r++) for (const w of ways) ns.get(w.name)!.push(loopNs(bin, w, dir));
    const med = (name: string) => median(ns.get(name)!);
    const rows = ways.map((w) => {
      const base = med(ways.find((x) => x.mode === w.mode && !x.event && !x.maskset)!.name);
      const perCall = med(w.name) / CALLS;
      return { way: w.name, nsPerCall: perCall, nsPerHit: w.event || w.maskset ? (med(w.name) - base) / CALLS : undefined };
    });
    const tp = rows.find((r) => r.way.includes('tracepoint'))!.nsPerHit!;
    console.log(`probe cost per hit on ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${CALLS.toLocaleString('en-US')} calls, medians of ${RUNS} interleaved runs, ${CLOCK === 'cpu' ? "the loop thread's CPU time" : 'wall clock'}; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
    console.log('| way | ns per call | ns per hit (traced − untraced) | vs the tracepoint |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(`| ${r.way} | ${r.nsPerCall.toFixed(0)} | ${r.nsPerHit === undefined ? '' : r.nsPerHit.toFixed(0)} | ${r.nsPerHit === undefined || tp <= 0 ? '' : `${(r.nsPerHit / tp).toFixed(1)}x`} |`);
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify({ calls: CALLS, runs: RUNS, rows }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The benchmark run inside a guest, its table printed here. */
async function inGuest(): Promise<void> {
  const r = await runInGuest({
    script: `node ${fileURLToPath(import.meta.url)}`,
    env: { LKST_BENCH_RUNS: process.env.LKST_BENCH_RUNS ?? '1', LKST_BENCH_CALLS: process.env.LKST_BENCH_CALLS ?? '20000', LKST_BENCH_KERNEL_ONLY: '1' },
    memMiB: 1024,
    timeoutMs: 3_600_000,
  });
  process.stdout.write(r.stdout);
  if (r.code !== 0) throw new Error(`the benchmark in the guest failed (${r.code ?? 'did not finish'}): ${r.stderr.trim().split('\n').pop()}\n${r.serial.slice(-1500)}`);
}

if (GUEST) await inGuest();
else main();
