import type { BenchReport, ConditionResult, WorkloadResult } from '../report.js';
import type { Summary } from '../stats.js';

/** Number formatting shared by the table and Markdown renderers. */
export function num(n: number | undefined, digits?: number): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function spread(s: Summary): string {
  return s.n > 1 ? `${num(s.min)}–${num(s.max)}` : '';
}

export function percent(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '-';
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}

/** The columns of one workload's table: a header row, then one row per condition. */
export function workloadRows(w: WorkloadResult): string[][] {
  const [primary, ...rest] = w.metrics;
  const header = ['condition', `${primary!.label} (${primary!.unit}, median)`, 'min–max', 'overhead', ...rest.map((m) => `${m.label} (${m.unit})`), 'events', 'lost', 'events/s'];
  const anyNs = w.conditions.some((c) => c.nsPerEvent !== undefined);
  const anyCpu = w.conditions.some((c) => c.recorderCpuMs !== undefined);
  if (anyNs) header.push('ns/event');
  if (anyCpu) header.push('recorder CPU ms');
  const anySelf = w.conditions.some((c) => c.selfPercent !== undefined);
  if (anySelf) header.push("lkst's own");
  const rows = [header];
  for (const c of w.conditions) rows.push([...conditionRow(w, c, anyNs, anyCpu), ...(anySelf ? [c.selfPercent === undefined ? '' : `${c.selfPercent.toFixed(3)}%`] : [])]);
  return rows;
}

function conditionRow(w: WorkloadResult, c: ConditionResult, anyNs: boolean, anyCpu: boolean): string[] {
  const [primary, ...rest] = w.metrics;
  const p = c.metrics[primary!.key]!;
  const over = c.kind === 'none' ? '' : `${percent(c.overheadPercent[primary!.key])}${c.withinNoise ? ' (noise)' : ''}`;
  const row = [label(c), num(p.median), spread(p), over, ...rest.map((m) => num(c.metrics[m.key]?.median)), num(c.events.median, 0), num(c.lost.median, 0), num(c.eventsPerSec, 0)];
  // A cost per event inside the noise (even negative) says nothing: shown only in the JSON.
  if (anyNs) row.push(c.withinNoise ? '-' : num(c.nsPerEvent, 0));
  if (anyCpu) row.push(num(c.recorderCpuMs?.median, 0));
  return row;
}

export function label(c: ConditionResult): string {
  if (c.kind === 'none') return 'none (no tracing)';
  if (c.kind === 'trace-cmd') return `trace-cmd ${c.maskset} (${c.tracepoints} tp)`;
  if (c.maskset === 'off') return 'lkst off (tracer present, events off)';
  return `lkst ${c.maskset} (${c.tracepoints} tp${c.selfKept ? ", lkst's own events kept" : ''})`;
}

/** One sentence on leaving lkst's own events out: its share and its cost, when the bench measured them. */
export function selfFilterText(r: BenchReport): string | undefined {
  const f = r.selfFilter;
  if (!f) return undefined;
  return (
    `Leaving lkst's own events out (a filter on every event, ${f.tasks} tasks): ${num(f.nsPerEvent, 1)} ns per recorded event ` +
    `(getppid() under sys_enter/sys_exit, fastest of ${f.rounds}: ${num(f.nsPerCallWith, 0)} ns with, ${num(f.nsPerCallWithout, 0)} ns without); ` +
    "the column \"lkst's own\" is the share of a recording's events that lkst's tasks made outside interrupts."
  );
}
