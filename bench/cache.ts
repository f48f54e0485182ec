/**
 * The caches beside a trace (issue 14): `lkst query` and `lkst state --at` as a user runs them,
 * each its own process, on a trace of ~5 M events: without the cache (--no-cache), the first run
 * (which builds it) and the next one (which reads it). Medians of LKST_BENCH_RUNS runs (3).
 *
 * Environment: LKST_BENCH_FILE (use a copy of this trace.dat instead of recording),
 * LKST_BENCH_CACHE_STORM (dd 1-byte copies, default 1,250,000: ~5 M events), LKST_BENCH_JSON.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace } from './make-trace.js';
import { openTrace } from '../src/analysis/open.js';
import { traceStats } from '../src/analysis/stats.js';
import { clearCache } from '../src/analysis/cache/location.js';

const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const EVENTS = ['sched:sched_switch', 'sched:sched_waking', 'sched:sched_wakeup', 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit', 'irq:irq_handler_entry', 'irq:irq_handler_exit', 'irq:softirq_entry', 'irq:softirq_exit', 'timer:hrtimer_start', 'timer:hrtimer_cancel', 'timer:hrtimer_expire_entry', 'timer:hrtimer_expire_exit'];

/** Wall seconds of one lkst command (its output discarded; a failure stops the bench). */
function timed(args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 20 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`lkst ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
  return s;
}

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
    const mid = ((st.lastTs - st.firstTs) / 2e9).toFixed(6);
    process.stderr.write(`trace: ${st.events.toLocaleString('en-US')} events, ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB, lost ${st.lostTotal.toLocaleString('en-US')}\n`);
    const cases: Case[] = [
      { what: 'query sched_switch GROUP BY', args: (p) => ['query', p, 'SELECT next_comm, count(*) FROM sched_switch GROUP BY 1 ORDER BY 2 DESC LIMIT 10'] },
      { what: 'query events GROUP BY', args: (p) => ['query', p, 'SELECT event, count(*) FROM events GROUP BY 1'] },
      { what: 'query sys_enter by name', args: (p) => ['query', p, 'SELECT name, count(*) FROM sys_enter GROUP BY 1 ORDER BY 2 DESC LIMIT 5'] },
      { what: `state --at +${mid}s`, args: (p) => ['state', p, '--at', `+${mid}s`] },
    ];
    const runs = Number(process.env.LKST_BENCH_RUNS ?? 3);
    const rows: { what: string; uncached: number; first: number; second: number }[] = [];
    for (const c of cases) {
      const un: number[] = [];
      const first: number[] = [];
      const second: number[] = [];
      for (let i = 0; i < runs; i++) {
        clearCache(path);
        un.push(timed([...c.args(path), '--no-cache']));
        first.push(timed(c.args(path)));
        second.push(timed(c.args(path)));
      }
      rows.push({ what: c.what, uncached: median(un), first: median(first), second: median(second) });
    }
    clearCache(path);
    const w = (s: string, k: number) => s.padStart(k);
    process.stdout.write(`${st.events.toLocaleString('en-US')} events; wall seconds, medians of ${runs}\n`);
    process.stdout.write(`${'what'.padEnd(40)}${w('--no-cache', 12)}${w('first', 9)}${w('second', 9)}${w('speed-up', 10)}\n`);
    for (const r of rows) process.stdout.write(`${r.what.padEnd(40)}${w(r.uncached.toFixed(2), 12)}${w(r.first.toFixed(2), 9)}${w(r.second.toFixed(2), 9)}${w((r.uncached / r.second).toFixed(1) + 'x', 10)}\n`);
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify({ events: st.events, runs, rows }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
