/** Plain-text renderings of the analysis results, for the terminal. */
import { jsonRecord, type EventRecord } from './event.js';
import type { LatencyReport } from './latency.js';
import type { StateAt } from './state.js';
import type { TraceStats } from './stats.js';
import { fmtDur, fmtTs } from './time.js';
import type { TimerFinding, TimerReport } from './timers.js';
import type { DurationSummary } from './durations.js';
import { lossText } from '../trace/loss.js';
import { bufferLabel } from '../trace/model.js';
import { grouped } from '../base/grouped.js';

/** Columns padded to their widest cell; numbers (and headers over them) right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  // Ids stay as they are; counts get thousands separators.
  const ids = header.map((h) => /^(pid|cpu)$/.test(h));
  const cells = [header, ...rows.map((r) => r.map((c, i) => (typeof c === 'number' && !ids[i] ? grouped(c) : String(c))))];
  const right = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (right[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export function renderStats(s: TraceStats, top = 15): string {
  const out: string[] = [];
  out.push(`${grouped(s.events)} events from ${fmtTs(s.firstTs)} to ${fmtTs(s.lastTs)} (${fmtDur(s.spanNs)}), ${lossText({ lost: s.lostTotal, before: s.lostBefore, exact: s.lostExact })}`);
  for (const u of s.lostUncertain) out.push(`  uncertain: ${u}`);
  if (s.markers) out.push(`${s.markers} markers${s.masksetSwitches.length ? `; maskset switches: ${s.masksetSwitches.map((m) => `${fmtTs(m.ts)} ${m.from} -> ${m.to}`).join(', ')}` : ''}`);
  out.push('', 'Events per type', table(['event', 'count'], s.byEvent.map((e) => [e.event, e.count])));
  const named = s.buffers.length > 1 || s.buffers.some((b) => b.buffer !== '');
  if (named) out.push('', 'Per buffer', table(['buffer', 'events', 'lost', 'before', 'clock'], s.buffers.map((b) => [bufferLabel({ name: b.buffer }), b.events, b.exact ? b.lost : `${b.lost}+`, b.before, b.clock])));
  if (s.clocksDiffer) for (const b of s.buffers.slice(1)) out.push(`clock of ${bufferLabel({ name: b.buffer })}: ${b.clockNote}`);
  const head = [...(named ? ['buffer'] : []), 'cpu', 'events', 'lost', ...(s.lostBefore ? ['before'] : [])];
  out.push('', 'Per CPU', table(head, s.byCpu.map((c) => [...(named ? [bufferLabel({ name: c.buffer })] : []), c.cpu, c.events, c.lostExact ? c.lost : `${c.lost}+`, ...(s.lostBefore ? [c.lostBefore] : [])])));
  out.push('', `Busiest tasks (top ${top} by time on CPU)`, table(['pid', 'comm', 'on cpu', 'switches', 'events'], s.tasks.slice(0, top).map((t) => [t.pid, t.comm, fmtDur(t.runNs), t.switches, t.events])));
  if (s.irqs.length) {
    out.push('', 'Interrupts', table(['handler', 'count', 'total', 'max'], s.irqs.slice(0, top).map((i) => [i.name, i.count, i.timed ? fmtDur(i.totalNs) : '-', i.timed ? fmtDur(i.maxNs) : '-'])));
    for (const m of s.missingExits) out.push(`note: ${m}`);
  }
  return out.join('\n') + '\n';
}

export function renderState(st: StateAt): string {
  const out: string[] = [];
  const since = (ts: number) => (ts < 0 ? 'before the trace' : `${fmtTs(ts)} (${fmtDur(st.at - ts)} ago)`);
  out.push(`State at ${fmtTs(st.at)} (${fmtDur(Math.max(0, st.at - st.traceStart))} into the trace)`);
  if (st.maskset) out.push(`Maskset in force: ${st.maskset}${st.masksetFrom === 'metadata' ? ' (no maskset marker before this moment: the one in force when the file was written)' : ''}`);
  if (st.losses) out.push(`warning: events were lost before this moment (${st.losses}); rows marked ? were carried across a loss and may be stale`);
  if (!st.switchesTraced) out.push('note: no sched_switch in the trace: "running" is the last task seen on each CPU');
  for (const m of st.missingExits) out.push(`note: "in interrupt": ${m}`);
  const mark = (u?: string) => (u ? ' ?' : '');
  out.push('', 'CPUs', table(['cpu', 'running', 'since', 'in interrupt'], st.cpus.map((c) => [c.cpu, (c.pid < 0 ? '?' : `${c.comm}:${c.pid}`) + mark(c.uncertain), since(c.since), c.irqs.map((i) => i.name).join(' > ') || (st.irqExitsTraced ? '' : '?')])));
  const known = st.tasks.filter((t) => t.state !== 'unknown' || t.syscall);
  out.push(
    '',
    `Tasks (${known.length} with a known state, of ${st.tasks.length} seen)`,
    table(
      ['pid', 'comm', 'state', 'since', 'cpu', 'syscall', 'locks'],
      known.map((t) => [t.pid, t.comm, t.state + mark(t.uncertain), since(t.since), t.cpu < 0 ? '' : String(t.cpu), t.syscall ? `${t.syscall.name} since ${fmtTs(t.syscall.since)}` : '', [t.waitingForLock ? `waits for ${t.waitingForLock.kind} ${t.waitingForLock.addr} since ${fmtTs(t.waitingForLock.since)}` : '', ...t.holdsLocks.map((l) => `holds ${l.name}`)].filter(Boolean).join(', ')]),
    ),
  );
  out.push('', `Pending timers (${st.pendingTimers.length})`, table(['timer', 'kind', 'function', 'armed', 'expires'], st.pendingTimers.map((t) => [t.addr + mark(t.pending!.uncertain), t.kind, t.function ?? '', fmtTs(t.pending!.since), expiry(t, st.at)])));
  return out.join('\n') + '\n';
}

/** A pending timer's expiry in trace seconds; in its own unit only when the trace cannot place it. */
function expiry(t: StateAt['pendingTimers'][number], at: number): string {
  const p = t.pending!;
  if (p.expiresAt !== undefined) return `${fmtTs(p.expiresAt)} (${p.expiresAt >= at ? `in ${fmtDur(p.expiresAt - at)}` : `${fmtDur(at - p.expiresAt)} overdue`})`;
  return t.kind === 'timer' ? `jiffy ${p.expires} (HZ unknown: too few timer events)` : `${(p.expires / 1e9).toFixed(6)} on its hrtimer clock (no hrtimer expiry traced)`;
}

function durRow(name: string, d: DurationSummary): (string | number)[] {
  return [name, d.count, fmtDur(d.totalNs), fmtDur(d.meanNs), fmtDur(d.p99Ns), fmtDur(d.maxNs)];
}

/** A log2 histogram as bars, one line per non-empty bucket. */
export function histogram(d: DurationSummary, width = 40): string {
  const max = Math.max(1, ...d.log2Histogram);
  const lines: string[] = [];
  d.log2Histogram.forEach((n, i) => {
    if (!n) return;
    const lo = fmtDur(2 ** i);
    lines.push(`${('>= ' + lo).padStart(12)} | ${'#'.repeat(Math.max(1, Math.round((n / max) * width))).padEnd(width)} ${n}`);
  });
  return lines.join('\n');
}

export function renderLatency(r: LatencyReport, top = 15, task?: string): string {
  const out: string[] = [];
  if (task) {
    const mine = r.wakeup.byTask.filter((t) => String(t.pid) === task || t.comm === task);
    if (!mine.length) out.push(`note: no wakeups of a task '${task}' in the trace`);
    for (const t of mine) out.push(`Wakeup to run of ${t.comm}:${t.pid}: ${t.latency.count} wakeups, mean ${fmtDur(t.latency.meanNs)}, max ${fmtDur(t.latency.maxNs)}`, histogram(t.latency), '');
  }
  for (const m of r.missing) out.push(`note: ${m}`);
  const ex = r.lossExcluded;
  if (r.losses) out.push(`note: events were lost (${r.losses}); left out as they span a loss: ${ex.wakeups} wakeups, ${ex.syscalls} system calls, ${ex.irqs} interrupt handlers`);
  const w = r.wakeup.all;
  out.push(`Wakeup to run: ${w.count} wakeups, mean ${fmtDur(w.meanNs)}, p50 <= ${fmtDur(w.p50Ns)}, p99 <= ${fmtDur(w.p99Ns)}, max ${fmtDur(w.maxNs)}`);
  if (w.count) out.push(histogram(w));
  out.push('', 'Worst wakeups', table(['latency', 'task', 'cpu', 'woken at', 'by', 'ran at', 'after', 'ran meanwhile on that CPU'], r.wakeup.worst.map((c) => [fmtDur(c.latencyNs), `${c.comm}:${c.pid}`, c.cpu, fmtTs(c.wokenAt), c.wakerPid > 0 ? `${c.wakerComm}:${c.wakerPid}` : 'irq/idle', fmtTs(c.ranAt), `${c.replacedComm}:${c.replacedPid} (${c.replacedState})`, c.ranMeanwhile.slice(0, 3).map((m) => `${m.comm}:${m.pid} ${fmtDur(m.ns)}`).join(', ')])));
  out.push('', 'Wakeup latency per task', table(['task', 'wakeups', 'total', 'mean', 'p99', 'max'], r.wakeup.byTask.slice(0, top).map((t) => durRow(`${t.comm}:${t.pid}`, t.latency))));
  out.push('', 'System calls', table(['syscall', 'calls', 'total', 'mean', 'p99', 'max'], r.syscalls.slice(0, top).map((s) => durRow(s.name, s.time))));
  out.push('', 'IRQ and softirq handlers', table(['handler', 'count', 'total', 'mean', 'p99', 'max'], r.irqs.slice(0, top).map((s) => durRow(s.name, s.time))));
  return out.join('\n') + '\n';
}

function evidenceLine(e: EventRecord): string {
  const j = jsonRecord(e);
  const f = Object.entries(j.fields as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `    ${fmtTs(e.ts)} [${String(e.cpu).padStart(3, '0')}] pid ${e.pid} ${e.event}: ${f}`;
}

export function renderTimers(r: TimerReport, top = 30): string {
  const out: string[] = [];
  if (!r.coverage.timerEvents) out.push('note: the trace has no timer events (record timer:*)');
  if (!r.coverage.freeEvents) out.push('note: the trace has no kmem free events: use-after-free cannot be checked (record kmem:kfree, kmem:kmem_cache_free)');
  else if (!r.coverage.allocSizes) out.push('note: no kmalloc/kmem_cache_alloc events: only timers at the very start of a freed object are checked');
  const finding = (f: TimerFinding) => {
    out.push(`  [${f.kind}] ${fmtTs(f.ts)}: ${f.message}${f.repeats ? ` (and ${f.repeats} more times)` : ''}`);
    if (f.uncertain) out.push(`    uncertain: ${f.uncertain}`);
    out.push(`    object ${f.object.ptr}${f.object.size ? `, ${f.object.size} bytes` : ''}${f.object.cache ? ` (${f.object.cache})` : ''}; timer at offset ${f.object.offset}`);
    out.push('    evidence:');
    for (const e of f.evidence) out.push(evidenceLine(e));
  };
  out.push(`Findings: ${r.findings.length}`);
  r.findings.forEach(finding);
  if (r.uncertainFindings.length) {
    out.push('', `Uncertain findings (the trace cannot settle them; not counted above): ${r.uncertainFindings.length}${r.uncertainFindings.length > top ? ` (first ${top}; --json lists all)` : ''}`);
    r.uncertainFindings.slice(0, top).forEach(finding);
  }
  const busiest = [...r.timers].sort((a, b) => b.counts.start + b.counts.expire - (a.counts.start + a.counts.expire)).slice(0, top);
  out.push('', `Timers (${r.timers.length}${r.timersNotListed ? ` listed, ${r.timersNotListed} older idle ones not kept` : ''}; busiest ${busiest.length})`);
  out.push(table(['timer', 'kind', 'function', 'init', 'start', 'expire', 'cancel', 'first', 'last', 'pending'], busiest.map((t) => [t.addr, t.kind, t.function ?? '', t.counts.init, t.counts.start, t.counts.expire, t.counts.cancel, fmtTs(t.first), fmtTs(t.last), t.pending ? (t.pending.uncertain ? 'yes?' : 'yes') : ''])));
  if (busiest.some((t) => t.pending?.uncertain)) out.push('yes?: armed when last seen, but events were lost since (its cancel or expiry may be among them)');
  return out.join('\n') + '\n';
}
