/** `lkst stats`: events per type, CPU and task; lost events; time span; busiest tasks and IRQs. */
import { Durations } from './durations.js';
import { MarkerAnalysis, type MasksetSwitch } from './markers.js';
import type { TraceEvent } from './event.js';
import type { TraceInput } from './input.js';
import { totalLoss } from '../trace/loss.js';
import { alignClocks, describeAlignment } from '../trace/clocks.js';
import { bufferLabel } from '../trace/model.js';
import { Pass, type Analysis } from './pass.js';
import { missingExitLines, timesIrq } from './intervals.js';

export interface TaskStat {
  pid: number;
  comm: string;
  events: number;
  /** Time on a CPU, from sched_switch (ns). */
  runNs: number;
  switches: number;
}

export interface IrqStat {
  name: string;
  kind: 'irq' | 'softirq';
  count: number;
  /** How many had an exit event, so a duration (totalNs and maxNs cover only those). */
  timed: number;
  totalNs: number;
  maxNs: number;
}

export interface TraceStats {
  events: number;
  firstTs: number;
  lastTs: number;
  spanNs: number;
  byEvent: { event: string; count: number }[];
  /** Per buffer and CPU: events, and losses as the one ledger settles them (trace/loss.ts). */
  byCpu: CpuStatRow[];
  /** The buffers read, in order ("" is the top-level buffer). */
  buffers: { buffer: string; events: number; lost: number; before: number; exact: boolean; clock: string; clockNote: string }[];
  /** Whether the buffers' clocks differ (each clockNote then says how its times stand against the first's). */
  clocksDiffer: boolean;
  tasks: TaskStat[];
  irqs: IrqStat[];
  /** Interrupt entries traced without their exit (their times show as -), each as the -e that would add it. */
  missingExits: string[];
  /** Events lost during the recording, all buffers and CPUs. */
  lostTotal: number;
  /** Whether lostTotal is exact; when not, lostUncertain says why, per CPU. */
  lostExact: boolean;
  lostUncertain: string[];
  /** Events overwritten or dropped before the recording began (attach, logd, buffer dump): never counted as lost. */
  lostBefore: number;
  /** Markers (trace_marker writes) and the maskset switches among them. */
  markers: number;
  masksetSwitches: MasksetSwitch[];
}

export interface CpuStatRow {
  buffer: string;
  cpu: number;
  events: number;
  lost: number;
  lostExact: boolean;
  lostBefore: number;
}

export class StatsAnalysis implements Analysis {
  /** By buffer, then CPU. */
  private readonly byCpu = new Map<string, number[]>();
  private readonly byPid = new Map<number, TaskStat>();
  private readonly irqs = new Map<string, { kind: 'irq' | 'softirq'; count: number; d: Durations }>();
  /** When the task now on each CPU got it. */
  private readonly onCpuSince = new Map<number, { pid: number; ts: number }>();

  private readonly marks: MarkerAnalysis;

  constructor(private readonly pass: Pass) {
    this.marks = new MarkerAnalysis(pass.input, 0);
    pass.model.subscribe({
      switch: (ts, cpu, prev, next) => {
        const cur = this.onCpuSince.get(cpu);
        // A mismatch means switches were not traced (the recorder leaves itself out): no slice to count.
        // Before its first switch prev ran since the CPU's first record at least; earlier is unknown.
        const from = !cur ? pass.model.cpu(cpu).first : cur.pid === prev.pid ? cur.ts : ts;
        const p = this.taskStat(prev.pid);
        p.runNs += ts - from;
        p.switches++;
        this.onCpuSince.set(cpu, { pid: next.pid, ts });
      },
      irqEntry: (_ts, _cpu, kind, name) => {
        let s = this.irqs.get(name);
        if (!s) this.irqs.set(name, (s = { kind, count: 0, d: new Durations() }));
        s.count++;
      },
      irq: (_ts, _cpu, _kind, name, dur) => this.irqs.get(name)?.d.add(dur),
    });
  }

  private taskStat(pid: number): TaskStat {
    let s = this.byPid.get(pid);
    if (!s) this.byPid.set(pid, (s = { pid, comm: '', events: 0, runNs: 0, switches: 0 }));
    return s;
  }

  /** Counts by event id (a u16; -1, a record too short for one, at the end). */
  private readonly idCounts = new Float64Array(65537);
  private readonly idOrder: number[] = [];
  /** The buffer the last record came from and its per-CPU counts (records come in runs of one buffer). */
  private lastBuffer: string | undefined;
  private bufferCounts: number[] = [];
  /** The task of the last record (runs of one task are the rule). */
  private lastTask: TaskStat | undefined;

  event(ev: TraceEvent): void {
    this.marks.event(ev);
    const slot = ev.id < 0 ? 65536 : ev.id;
    // First-seen order, kept for ties in the per-event table.
    if (this.idCounts[slot]!++ === 0) this.idOrder.push(slot);
    if (ev.buffer !== this.lastBuffer) {
      this.lastBuffer = ev.buffer;
      let b = this.byCpu.get(ev.buffer);
      if (!b) this.byCpu.set(ev.buffer, (b = []));
      this.bufferCounts = b;
    }
    const cpu = ev.cpu;
    this.bufferCounts[cpu] = (this.bufferCounts[cpu] ?? 0) + 1;
    const pid = ev.pid;
    let t = this.lastTask;
    if (t === undefined || t.pid !== pid) this.lastTask = t = this.taskStat(pid);
    t.events++;
  }

  result(): TraceStats {
    const { pass } = this;
    const reg = pass.input.registry;
    // Close the slices still running at the end.
    for (const [, cur] of this.onCpuSince) this.taskStat(cur.pid).runNs += pass.last - cur.ts;
    // One row per buffer and CPU the trace has, with the ledger's loss figures.
    const byCpu: CpuStatRow[] = pass.loss.cpus.map((l) => ({ buffer: l.buffer, cpu: l.cpu, events: this.byCpu.get(l.buffer)?.[l.cpu] ?? 0, lost: l.lost, lostExact: l.exact, lostBefore: l.before }));
    byCpu.sort((a, b) => pass.input.buffers.findIndex((x) => x.name === a.buffer) - pass.input.buffers.findIndex((x) => x.name === b.buffer) || a.cpu - b.cpu);
    const clocks = alignClocks(pass.input.buffers);
    const refName = bufferLabel(pass.input.buffers[0] ?? { name: '' });
    const buffers = pass.input.buffers.map((b, i) => {
      const rows = byCpu.filter((r) => r.buffer === b.name);
      return { buffer: b.name, events: rows.reduce((n, r) => n + r.events, 0), lost: rows.reduce((n, r) => n + r.lost, 0), before: rows.reduce((n, r) => n + r.lostBefore, 0), exact: rows.every((r) => r.lostExact), clock: b.clock, clockNote: describeAlignment(clocks[i]!, refName) };
    });
    const clocksDiffer = new Set(buffers.map((b) => b.clock)).size > 1;
    const total = totalLoss(pass.loss.cpus);
    const lostUncertain = pass.loss.cpus.filter((c) => !c.exact).map((c) => `${c.buffer ? `buffer ${c.buffer} ` : ''}CPU ${c.cpu}: ${c.uncertain}`);
    const tasks = [...this.byPid.values()].filter((t) => t.pid >= 0);
    for (const t of tasks) t.comm = pass.model.commOf(t.pid);
    tasks.sort((a, b) => b.runNs - a.runNs || b.events - a.events);
    const byEvent: TraceStats['byEvent'] = [];
    for (const i of this.idOrder) {
      const id = i === 65536 ? -1 : i;
      const f = reg.get(id);
      byEvent.push({ event: f ? `${f.system}:${f.name}` : `unknown-${id}`, count: this.idCounts[i]! });
    }
    byEvent.sort((a, b) => b.count - a.count);
    const irqs: IrqStat[] = [...this.irqs].map(([name, s]) => ({ name, kind: s.kind, count: s.count, timed: s.d.count, totalNs: s.d.total, maxNs: s.d.max }));
    irqs.sort((a, b) => b.totalNs - a.totalNs || b.count - a.count);
    const first = pass.events ? pass.first : 0;
    const last = pass.events ? pass.last : 0;
    return { events: pass.events, firstTs: first, lastTs: last, spanNs: last - first, byEvent, byCpu, buffers, clocksDiffer, tasks, irqs, missingExits: missingExitLines(pass.input.registry, timesIrq), lostTotal: total.lost, lostExact: total.exact, lostUncertain, lostBefore: total.before, markers: this.marks.count, masksetSwitches: this.marks.switches };
  }
}

/** Statistics of a whole trace in one streaming pass. */
export function traceStats(input: TraceInput): TraceStats {
  // Stats read no task's system call: the model need not replay them.
  const pass = new Pass(input, { syscalls: false });
  const s = pass.add(new StatsAnalysis(pass));
  pass.run();
  return s.result();
}
