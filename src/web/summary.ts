/**
 * The analyses the viewer's side panel shows (statistics, timer findings, latencies), computed in a
 * worker thread on the trace opened again there, so the timeline is served while they run.
 */
import { Worker } from 'node:worker_threads';
import { Pass } from '../analysis/pass.js';
import { StatsAnalysis } from '../analysis/stats.js';
import { TimerAnalysis } from '../analysis/timers.js';
import { LatencyAnalysis } from '../analysis/latency.js';
import { toJsonText } from '../analysis/event.js';
import type { TraceInput } from '../analysis/input.js';

/** The panel's JSON: stats, findings (with their uncertain reason), timer coverage, latencies. */
export function summaryJson(input: TraceInput, until?: number): string {
  const pass = new Pass(input);
  const stats = pass.add(new StatsAnalysis(pass));
  const timers = pass.add(new TimerAnalysis(input));
  const latency = pass.add(new LatencyAnalysis(pass));
  pass.run({ until });
  const t = timers.result();
  const l = latency.result();
  return toJsonText(
    {
      stats: stats.result(),
      findings: t.findings,
      timers: { count: t.timers.length, coverage: t.coverage },
      latency: { wakeup: l.wakeup, syscalls: l.syscalls.slice(0, 30), irqs: l.irqs.slice(0, 30), missing: l.missing },
    },
    0,
  );
}

/** summaryJson of a trace file in a worker thread; an abort stops the worker (Ctrl-C must not wait for its pass). */
export function summaryInWorker(path: string, buffers: readonly string[], until?: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./summary-worker.js', import.meta.url), { workerData: { path, buffers, until } });
    signal?.addEventListener('abort', () => void w.terminate(), { once: true });
    w.once('message', (m: { json?: string; error?: string }) => (m.json !== undefined ? resolve(m.json) : reject(new Error(m.error))));
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`the summary worker stopped with code ${code}`)));
  });
}
