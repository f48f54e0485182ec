/**
 * The analyses, exports, SQL and the viewer on a trace of at least a million events recorded by
 * lkst from this kernel (a syscall storm plus scheduler, timer, IRQ and kmem events): wall time,
 * events per second and the process's peak RSS for each, (the viewer's page: bench/viewer.ts).
 *
 * Environment: LKST_BENCH_FILE (use this trace.dat instead of recording), LKST_BENCH_STORM (dd
 * 1-byte copies, default 250000), LKST_BENCH_JSON (write the figures there).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace } from './make-trace.js';
import { openTrace } from '../src/analysis/open.js';
import { traceStats } from '../src/analysis/stats.js';
import { analyzeLatency } from '../src/analysis/latency.js';
import { analyzeTimers } from '../src/analysis/timers.js';
import { stateAt } from '../src/analysis/state.js';
import { openTraceDb } from '../src/analysis/query/database.js';
import { runQuery } from '../src/analysis/query/run.js';
import { withSink } from '../src/export/file-sink.js';
import { exportPerfetto } from '../src/export/perfetto.js';
import { exportChromeJson } from '../src/export/chrome-json.js';
import { exportCsv } from '../src/export/csv.js';
import { exportParquet } from '../src/export/parquet.js';
import { buildViewData } from '../src/web/view-data.js';

const EVENTS = [
  'sched:sched_switch', 'sched:sched_waking', 'sched:sched_wakeup', 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit',
  'irq:irq_handler_entry', 'irq:irq_handler_exit', 'irq:softirq_entry', 'irq:softirq_exit',
  'timer:timer_start', 'timer:timer_cancel', 'timer:timer_expire_entry', 'timer:timer_expire_exit', 'timer:hrtimer_start', 'timer:hrtimer_cancel',
  'timer:hrtimer_expire_entry', 'timer:hrtimer_expire_exit', 'kmem:kmalloc', 'kmem:kfree', 'kmem:kmem_cache_alloc', 'kmem:kmem_cache_free',
];

interface Row {
  what: string;
  seconds: number;
  eventsPerSec: number;
  rssMiB: number;
  note?: string;
}

async function measure(what: string, events: number, fn: () => unknown | Promise<unknown>): Promise<Row> {
  const t = process.hrtime.bigint();
  const r = await fn();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  return { what, seconds, eventsPerSec: events / seconds, rssMiB: process.resourceUsage().maxRSS / 1024, note: typeof r === 'string' ? r : undefined };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-analysis-'));
  try {
    const path = process.env.LKST_BENCH_FILE ?? (await makeTrace(dir, Number(process.env.LKST_BENCH_STORM ?? 250_000), EVENTS));
    const trace = openTrace(path);
    const rows: Row[] = [];
    const stats = traceStats(trace);
    const n = stats.events;
    process.stderr.write(`trace: ${n.toLocaleString('en-US')} events, ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB, ${stats.byCpu.length} CPUs\n`);
    rows.push(await measure('stats', n, () => traceStats(trace)));
    rows.push(await measure('analyze latency', n, () => analyzeLatency(trace)));
    rows.push(await measure('analyze timers', n, () => analyzeTimers(trace)));
    rows.push(await measure('state --at (middle)', n, () => stateAt(trace, (stats.firstTs + stats.lastTs) / 2)));
    rows.push(
      await measure('query: load sched_switch + GROUP BY', n, async () => {
        const db = await openTraceDb(trace, ['SELECT next_comm, count(*) FROM sched_switch GROUP BY 1']);
        try {
          await runQuery(db.conn, 'SELECT next_comm, count(*) FROM sched_switch GROUP BY 1', 'csv', () => {});
        } finally {
          db.close();
        }
      }),
    );
    rows.push(
      await measure('query: load events (all rows) + GROUP BY', n, async () => {
        const db = await openTraceDb(trace, ['SELECT event, count(*) FROM events GROUP BY 1']);
        try {
          await runQuery(db.conn, 'SELECT event, count(*) FROM events GROUP BY 1', 'csv', () => {});
        } finally {
          db.close();
        }
      }),
    );
    const out = (name: string) => join(dir, name);
    rows.push(await measure('export perfetto', n, () => `${(withSink(out('t.pftrace'), (s) => exportPerfetto(trace, s)).bytes / 2 ** 20).toFixed(1)} MiB`));
    rows.push(await measure('export chrome-json', n, () => withSink(out('t.json'), (s) => exportChromeJson(trace, s)) && `${(statSync(out('t.json')).size / 2 ** 20).toFixed(1)} MiB`));
    rows.push(await measure('export csv', n, () => withSink(out('t.csv'), (s) => exportCsv(trace, s)) && `${(statSync(out('t.csv')).size / 2 ** 20).toFixed(1)} MiB`));
    rows.push(await measure('export parquet', n, async () => (await exportParquet(trace, out('t.parquet'))) && `${(statSync(out('t.parquet')).size / 2 ** 20).toFixed(1)} MiB`));
    rows.push(await measure('viewer: summaries (bench/viewer.ts times the page)', n, () => void buildViewData(trace, 'bench')));
    trace.close();
    const w = (s: string, k: number) => s.padStart(k);
    process.stdout.write(`${'what'.padEnd(42)}${w('seconds', 9)}${w('Mevents/s', 11)}${w('peak RSS MiB', 14)}  note\n`);
    for (const r of rows) process.stdout.write(`${r.what.padEnd(42)}${w(r.seconds.toFixed(2), 9)}${w((r.eventsPerSec / 1e6).toFixed(2), 11)}${w(r.rssMiB.toFixed(0), 14)}  ${r.note ?? ''}\n`);
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify({ events: n, rows }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const dd = spawnSync('dd', ['--version'], { stdio: 'ignore' });
if (dd.status !== 0) throw new Error('dd is needed for the workload');
await main();
