/**
 * The caches beside a trace (issue 14): `lkst query` and `lkst state --at` as a user runs them,
 * each its own process, on a trace of ~5 M events: without the cache (--no-cache), the first run
 * (which builds it and the state checkpoints) and the next one (which reads it); then the
 * whole-trace analyses (`stats`, `analyze latency`, `analyze timers`), events per second of wall
 * and of CPU time. Medians of LKST_BENCH_RUNS runs (3); the load average is printed with them.
 *
 * Environment: LKST_BENCH_FILE (use a copy of this trace.dat instead of recording),
 * LKST_BENCH_CACHE_STORM (dd 1-byte copies, default 1,250,000: ~5 M events on an idle machine), LKST_BENCH_JSON,
 * LKST_BENCH_CASES (a regular expression: only the commands it matches, e.g. "state|analy|stats").
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace } from './make-trace.js';
import { openTrace } from '../src/analysis/open.js';
import { traceStats } from '../src/analysis/stats.js';
import { clearCache } from '../src/analysis/cache/location.js';
import { cliPath } from '../src/base/project-root.js';

const CLI = cliPath();
const EVENTS = ['sched:sched_switch', 'sched:sched_waking', 'sched:sched_wakeup', 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit', 'irq:irq_handler_entry', 'irq:irq_handler_exit', 'irq:softirq_entry', 'irq:softirq_exit', 'timer:hrtimer_start', 'timer:hrtimer_cancel', 'timer:hrtimer_expire_entry', 'timer:hrtimer_expire_exit',
  'timer:timer_start', 'timer:timer_cancel', 'timer:timer_expire_entry', 'timer:timer_expire_exit', 'kmem:kmalloc', 'kmem:kfree', 'kmem:kmem_cache_alloc', 'kmem:kmem_cache_free'];

/** Wall seconds of one lkst command (its output discarded; a failure stops the bench). */
function timed(args: string[]): number {
  return timedCpu(args).wall;
}

/** Wall and CPU (user + system) seconds of one lkst command; CPU from GNU time when installed (else NaN). */
function timedCpu(args: string[]): { wall: number; cpu: number } {
  const gnuTime = existsSync('/usr/bin/time');
  const cmd = gnuTime ? '/usr/bin/time' : process.execPath;
  const argv = gnuTime ? ['-f', 'lkst-bench-cpu %U %S', process.execPath, CLI, ...args] : [CLI, ...args];
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 20 });
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`lkst ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
  const m = /lkst-bench-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr.toString());
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Case {
  what: string;
  args: (path: string) => string[];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-cache-'));
  try {
    const path = join(dir, 'trace.dat');
    if (process.env.LKST_BENCH_FILE) copyFileSync(process.env.LKST_BENCH_FILE, path);
    else copyFileSync(await makeTrace(dir, Number(process.env.LKST_BENCH_CACHE_STORM ?? 1_250_000), EVENTS, 'big.dat'), path);
    const t = openTrace(path);
    const st = traceStats(t);
    t.close();
    const at = (f: number) => ((st.lastTs - st.firstTs) * f / 1e9).toFixed(6);
    const mid = at(0.5);
    process.stderr.write(`trace: ${st.events.toLocaleString('en-US')} events, ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB, lost ${st.lostTotal.toLocaleString('en-US')}\n`);
    const cases: Case[] = [
      { what: 'query sched_switch GROUP BY', args: (p) => ['query', p, 'SELECT next_comm, count(*) FROM sched_switch GROUP BY 1 ORDER BY 2 DESC LIMIT 10'] },
      { what: 'query events GROUP BY', args: (p) => ['query', p, 'SELECT event, count(*) FROM events GROUP BY 1'] },
      { what: 'query sys_enter by name', args: (p) => ['query', p, 'SELECT name, count(*) FROM sys_enter GROUP BY 1 ORDER BY 2 DESC LIMIT 5'] },
      { what: `state --at +${at(0.1)}s (10%)`, args: (p) => ['state', p, '--at', `+${at(0.1)}s`] },
      { what: `state --at +${mid}s (middle)`, args: (p) => ['state', p, '--at', `+${mid}s`] },
      { what: `state --at +${at(0.9)}s (90%)`, args: (p) => ['state', p, '--at', `+${at(0.9)}s`] },
      { what: 'state --at end', args: (p) => ['state', p, '--at', 'end'] },
    ];
    const only = process.env.LKST_BENCH_CASES ? new RegExp(process.env.LKST_BENCH_CASES) : undefined;
    const loadStart = load();
    const runs = Number(process.env.LKST_BENCH_RUNS ?? 3);
    const rows: { what: string; uncached: number; first: number; second: number; uncachedCpu: number; secondCpu: number }[] = [];
    for (const c of cases.filter((x) => !only || only.test(x.what))) {
      const un: { wall: number; cpu: number }[] = [];
      const first: number[] = [];
      const second: { wall: number; cpu: number }[] = [];
      for (let i = 0; i < runs; i++) {
        clearCache(path);
        un.push(timedCpu([...c.args(path), '--no-cache']));
        first.push(timed(c.args(path)));
        second.push(timedCpu(c.args(path)));
      }
      const m = (xs: { wall: number; cpu: number }[], k: 'wall' | 'cpu') => median(xs.map((x) => x[k]));
      rows.push({ what: c.what, uncached: m(un, 'wall'), first: median(first), second: m(second, 'wall'), uncachedCpu: m(un, 'cpu'), secondCpu: m(second, 'cpu') });
    }
    clearCache(path);
    // The whole-trace analyses: no cache involved; events per second of wall and of CPU time.
    const analyses: { what: string; wall: number; cpu: number; evPerSec: number; evPerCpuSec: number }[] = [];
    for (const [what, args] of [['stats', ['stats', path]], ['analyze latency', ['analyze', 'latency', path]], ['analyze timers', ['analyze', 'timers', path]]] as const) {
      if (only && !only.test(what)) continue;
      const t = Array.from({ length: runs }, () => timedCpu([...args]));
      const wall = median(t.map((x) => x.wall));
      const cpu = median(t.map((x) => x.cpu));
      analyses.push({ what, wall, cpu, evPerSec: st.events / wall, evPerCpuSec: st.events / cpu });
    }
    const loadEnd = load();
    const w = (s: string, k: number) => s.padStart(k);
    process.stdout.write(`${st.events.toLocaleString('en-US')} events; wall seconds, medians of ${runs}\n`);
    process.stdout.write(`${'what'.padEnd(40)}${w('--no-cache', 12)}${w('first', 9)}${w('second', 9)}${w('speed-up', 10)}${w('CPU s: --no-cache', 19)}${w('second', 8)}\n`);
    for (const r of rows) process.stdout.write(`${r.what.padEnd(40)}${w(r.uncached.toFixed(2), 12)}${w(r.first.toFixed(2), 9)}${w(r.second.toFixed(2), 9)}${w((r.uncached / r.second).toFixed(1) + 'x', 10)}${w(r.uncachedCpu.toFixed(2), 19)}${w(r.secondCpu.toFixed(2), 8)}\n`);
    process.stdout.write(`\n${'analysis (whole trace, own process)'.padEnd(40)}${w('wall s', 9)}${w('CPU s', 9)}${w('Mev/s wall', 12)}${w('Mev/s CPU', 11)}\n`);
    for (const a of analyses) process.stdout.write(`${a.what.padEnd(40)}${w(a.wall.toFixed(2), 9)}${w(a.cpu.toFixed(2), 9)}${w((a.evPerSec / 1e6).toFixed(2), 12)}${w((a.evPerCpuSec / 1e6).toFixed(2), 11)}\n`);
    process.stdout.write(`load average (1, 5, 15 min): ${loadStart} at the start, ${loadEnd} at the end\n`);
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify({ events: st.events, runs, rows, analyses, load: { start: loadStart, end: loadEnd } }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
