/**
 * `lkst analyze latency`: how long woken tasks waited for a CPU, how long system calls took, how
 * long interrupt and softirq handlers ran. Streaming; constant memory per task and per name.
 * A span with events lost inside it is left out and counted (its end or a second start may be
 * among the lost events), so every figure is measured from complete data.
 */
import { Durations, TopN, type DurationSummary } from './durations.js';
import type { TraceInput } from './input.js';
import { describeLosses, scanLosses, type LossLog } from './losses.js';
import { Pass, type Analysis } from './pass.js';
import { missingExitLines, timesIrq } from './intervals.js';

export interface WakeupCase {
  latencyNs: number;
  pid: number;
  comm: string;
  cpu: number;
  /** When it was woken, and by which task (pid -1 when from an interrupt with no task). */
  wokenAt: number;
  wakerPid: number;
  wakerComm: string;
  targetCpu: number;
  /** The task it replaced on the CPU when it finally ran, and in which state that one left. */
  ranAt: number;
  replacedPid: number;
  replacedComm: string;
  replacedState: string;
  /** What ran on that CPU while the task waited (the tasks that delayed it), longest first. */
  ranMeanwhile: { pid: number; comm: string; ns: number }[];
}

/** Recent running slices of one CPU, to tell who ran while a woken task waited. */
const HISTORY = 64;

export interface LatencyReport {
  wakeup: { all: DurationSummary; byTask: { pid: number; comm: string; latency: DurationSummary }[]; worst: WakeupCase[] };
  syscalls: { name: string; time: DurationSummary }[];
  irqs: { name: string; kind: 'irq' | 'softirq'; time: DurationSummary }[];
  /** What the trace lacked for a part of the report (missing events). */
  missing: string[];
  /** Spans left out because events were lost inside them, and where the trace lost events. */
  lossExcluded: { wakeups: number; syscalls: number; irqs: number };
  losses?: string;
}

export class LatencyAnalysis implements Analysis {
  private readonly woken = new Map<number, { ts: number; waker: number; target: number }>();
  private readonly all = new Durations();
  private readonly byTask = new Map<number, Durations>();
  private readonly worst = new TopN<WakeupCase>(10);
  private readonly syscalls = new Map<string, Durations>();
  private readonly syscallsByNr: ({ name: string; d: Durations } | undefined)[] = [];
  private readonly irqs = new Map<string, { kind: 'irq' | 'softirq'; d: Durations }>();
  private readonly history = new Map<number, { pid: number; start: number; end: number }[]>();
  private readonly onCpuSince = new Map<number, number>();
  private readonly losses: LossLog;
  private readonly excluded = { wakeups: 0, syscalls: 0, irqs: 0 };

  /** Time each task ran on cpu within [from, to), from the recent slices. */
  private meanwhile(cpu: number, from: number, to: number): WakeupCase['ranMeanwhile'] {
    const per = new Map<number, number>();
    for (const s of this.history.get(cpu) ?? []) {
      const ns = Math.min(s.end, to) - Math.max(s.start, from);
      if (ns > 0) per.set(s.pid, (per.get(s.pid) ?? 0) + ns);
    }
    return [...per].map(([pid, ns]) => ({ pid, comm: pid === 0 ? 'idle' : this.pass.model.commOf(pid), ns })).sort((a, b) => b.ns - a.ns);
  }

  constructor(private readonly pass: Pass) {
    // Known in advance: a loss on another CPU is reported only when that CPU's stream reaches it.
    this.losses = scanLosses(pass.input);
    const model = pass.model;
    model.subscribe({
      wake: (ts, task, targetCpu, waker) => {
        if (!this.woken.has(task.pid)) this.woken.set(task.pid, { ts, waker, target: targetCpu });
      },
      // Running again without a traced switch in: the wait cannot be measured.
      seenRunning: (_ts, _cpu, task) => {
        this.woken.delete(task.pid);
      },
      switch: (ts, cpu, prev, next, prevState) => {
        const since = this.onCpuSince.get(cpu);
        if (since !== undefined) {
          let h = this.history.get(cpu);
          if (!h) this.history.set(cpu, (h = []));
          h.push({ pid: prev.pid, start: since, end: ts });
          if (h.length > HISTORY) h.shift();
        }
        this.onCpuSince.set(cpu, ts);
        // Woken while still on a CPU: it never waited.
        this.woken.delete(prev.pid);
        const w = this.woken.get(next.pid);
        if (!w || next.pid === 0) return;
        this.woken.delete(next.pid);
        if (this.losses.overlaps(w.ts, ts)) {
          this.excluded.wakeups++;
          return;
        }
        const lat = ts - w.ts;
        this.all.add(lat);
        let d = this.byTask.get(next.pid);
        if (!d) this.byTask.set(next.pid, (d = new Durations()));
        d.add(lat);
        if (this.worst.wants(lat)) {
          const waker = model.tasks.get(w.waker);
          this.worst.add(lat, {
            latencyNs: lat,
            pid: next.pid,
            comm: next.comm,
            cpu,
            wokenAt: w.ts,
            wakerPid: w.waker,
            wakerComm: waker?.comm ?? '',
            targetCpu: w.target,
            ranAt: ts,
            replacedPid: prev.pid,
            replacedComm: prev.comm,
            replacedState: prevState,
            ranMeanwhile: this.meanwhile(cpu, w.ts, ts),
          });
        }
      },
      syscall: (ts, _task, nr, name, dur) => {
        if (this.losses.overlaps(ts - dur, ts)) {
          this.excluded.syscalls++;
          return;
        }
        // By number first: the name map's string hashing per call showed in a storm's profile.
        let d = nr >= 0 ? this.syscallsByNr[nr] : undefined;
        if (!d || d.name !== name) {
          let got = this.syscalls.get(name);
          if (!got) this.syscalls.set(name, (got = new Durations()));
          d = { name, d: got };
          if (nr >= 0 && nr < 4096) this.syscallsByNr[nr] = d;
        }
        d.d.add(dur);
      },
      irq: (ts, cpu, kind, name, dur, start) => {
        // Entry and exit are on one CPU: only its losses matter.
        if (this.losses.overlaps(start, ts) && this.losses.within(start, ts, cpu).length) {
          this.excluded.irqs++;
          return;
        }
        let s = this.irqs.get(name);
        if (!s) this.irqs.set(name, (s = { kind, d: new Durations() }));
        s.d.add(dur);
      },
    });
  }

  result(): LatencyReport {
    const reg = this.pass.input.registry;
    const has = (s: string, n: string) => !!reg.find(s, n);
    const missing: string[] = [];
    if (!has('sched', 'sched_switch') || !(has('sched', 'sched_waking') || has('sched', 'sched_wakeup'))) missing.push('wakeup latency needs sched:sched_switch and sched:sched_waking (or sched_wakeup)');
    if (!has('raw_syscalls', 'sys_enter') && !has('raw_syscalls', 'sys_exit') && !reg.identities().some((f) => f.system === 'syscalls')) missing.push('syscall times need raw_syscalls:sys_enter and sys_exit: record them with -m syscall or -e raw_syscalls:sys_enter -e raw_syscalls:sys_exit');
    if (!has('irq', 'irq_handler_entry') && !has('irq', 'softirq_entry')) missing.push('IRQ times need irq:irq_handler_entry/exit and irq:softirq_entry/exit: record them with -m interrupt or -e irq:irq_handler_entry -e irq:irq_handler_exit');
    missing.push(...missingExitLines(reg, (entry) => timesIrq(entry) || entry === 'raw_syscalls:sys_enter'));
    const byTask = [...this.byTask].map(([pid, d]) => ({ pid, comm: this.pass.model.commOf(pid), latency: d.summary() }));
    byTask.sort((a, b) => b.latency.maxNs - a.latency.maxNs);
    const syscalls = [...this.syscalls].map(([name, d]) => ({ name, time: d.summary() })).sort((a, b) => b.time.totalNs - a.time.totalNs);
    const irqs = [...this.irqs].map(([name, s]) => ({ name, kind: s.kind, time: s.d.summary() })).sort((a, b) => b.time.totalNs - a.time.totalNs);
    const losses = this.losses.any ? describeLosses(this.losses.all) : undefined;
    return { wakeup: { all: this.all.summary(), byTask, worst: this.worst.values() }, syscalls, irqs, missing, lossExcluded: { ...this.excluded }, losses };
  }
}

export function analyzeLatency(input: TraceInput): LatencyReport {
  const pass = new Pass(input);
  const a = pass.add(new LatencyAnalysis(pass));
  pass.run();
  return a.result();
}
