/**
 * `lkst state --at TIME`: the kernel's state at one moment, replayed from the start of the trace:
 * what ran on each CPU, every known task's state and system call, pending timers, locks. A state
 * carried across lost events is marked uncertain, naming the loss.
 */
import type { TraceInput } from './input.js';
import { describeLosses, scanLosses, type LossLog } from './losses.js';
import { Pass, type Analysis, type PassCheckpoint } from './pass.js';
import type { RunState } from './sched-model.js';
import { TimerAnalysis, type TimerLife } from './timers.js';
import { MarkerAnalysis } from './markers.js';
import { missingExitLines, timesIrq } from './intervals.js';

export interface CpuAt {
  cpu: number;
  pid: number;
  comm: string;
  since: number;
  /** Interrupt handlers running at that moment (only known when exits are traced). */
  irqs: { name: string; since: number }[];
  /** Events lost on this CPU since its task came in: a switch may be among them. */
  uncertain?: string;
}

export interface TaskAt {
  pid: number;
  comm: string;
  state: RunState;
  /** -1: since before the trace began. */
  since: number;
  cpu: number;
  syscall?: { name: string; since: number };
  waitingForLock?: { addr: string; since: number; kind: string };
  holdsLocks: { addr: string; name: string; since: number }[];
  /** Events lost (on any CPU) since the oldest of these facts was seen: any may be stale. */
  uncertain?: string;
}

export interface StateAt {
  at: number;
  traceStart: number;
  cpus: CpuAt[];
  tasks: TaskAt[];
  pendingTimers: TimerLife[];
  /** Events lost before the moment: the state may be incomplete. */
  lostBefore: number;
  /** Where they were lost, per CPU (absent when nothing was). */
  losses?: string;
  /**
   * The maskset in force: from lkst's markers before the moment (the start one, or the last
   * `lkst: maskset A -> B`); else the one the file's metadata names (in force when it was written).
   */
  maskset?: string;
  /** Where maskset comes from. */
  masksetFrom?: 'markers' | 'metadata';
  /** Whether sched_switch is traced; without it, a CPU's task is the last one seen there. */
  switchesTraced: boolean;
  /** Whether irq exits are traced (otherwise "in interrupt" cannot be told). */
  irqExitsTraced: boolean;
  /** Interrupt entries traced without their exit, each as the -e that would add it. */
  missingExits: string[];
}

/** Events lost so far, counted as the stream meets them. */
class LostCount implements Analysis {
  n = 0;
  lost(_cpu: number, _ts: number, count: number): void {
    this.n += Math.max(0, count);
  }
  save(): number {
    return this.n;
  }
  load(s: unknown): void {
    this.n = s as number;
  }
}

/**
 * The pass a state is replayed with: the scheduler model, timers, markers and the loss count.
 * A checkpoint of it (cache/checkpoints.ts) resumes a pass made here, with the same analyses.
 * losses: every loss of the trace (the timers read them only when asked for a result).
 */
export function statePass(input: TraceInput, losses: LossLog) {
  const pass = new Pass(input);
  return { pass, timers: pass.add(new TimerAnalysis(input, { losses })), marks: pass.add(new MarkerAnalysis(input, 0)), lost: pass.add(new LostCount()) };
}

/**
 * The state at time `at` (ns); Infinity: at the last event (the moment of a crash, for a recovered
 * trace). `losses`: the trace's every loss, when already known (cache/summary.ts); `from`: a
 * checkpoint of statePass at or before `at` to replay from instead of the start.
 */
export function stateAt(input: TraceInput, at: number, known?: { losses?: LossLog; from?: PassCheckpoint }): StateAt {
  // Known in advance: a loss that straddles the moment is reported only after it.
  const losses = known?.losses ?? scanLosses(input);
  const { pass, timers, marks, lost } = statePass(input, losses);
  pass.run({ until: at, from: known?.from });
  const lostBefore = lost.n;
  const { model } = pass;
  const end = Number.isFinite(at) ? at : pass.last;
  const reg = input.registry;
  /** Losses after a fact seen at `since` (-1: before the trace) and before the moment. */
  const since = (ts: number, cpu?: number) => losses.uncertainty(ts < 0 ? -Infinity : ts, end, cpu);
  const irqExitsTraced = !!(reg.find('irq', 'irq_handler_exit') || reg.find('irq', 'softirq_exit'));
  const missingExits = missingExitLines(reg, timesIrq);
  const cpus: CpuAt[] = [...model.cpus.values()]
    .sort((a, b) => a.cpu - b.cpu)
    .map((c) => ({
      cpu: c.cpu,
      pid: c.pid,
      comm: c.pid === 0 ? `swapper/${c.cpu}` : c.pid > 0 ? model.commOf(c.pid) : '',
      since: c.since,
      irqs: irqExitsTraced ? c.irqs.map((i) => ({ name: i.name, since: i.since })) : [],
      uncertain: since(Math.min(c.since, ...c.irqs.map((i) => i.since)), c.cpu),
    }));
  const tasks: TaskAt[] = [...model.tasks.values()]
    .filter((t) => t.pid > 0)
    .map((t) => ({
      pid: t.pid,
      comm: t.comm,
      state: t.state,
      since: t.since,
      cpu: t.cpu,
      syscall: t.syscall ? { name: t.syscall.name, since: t.syscall.since } : undefined,
      waitingForLock: t.lockWait,
      holdsLocks: [...t.held].map(([addr, h]) => ({ addr, ...h })),
      uncertain: since(Math.min(t.since, t.syscall?.since ?? Infinity, t.lockWait?.since ?? Infinity, ...[...t.held.values()].map((h) => h.since))),
    }))
    .sort((a, b) => a.pid - b.pid);
  const pendingTimers = timers.result(end).timers.filter((t) => t.pending);
  const before = losses.within(-Infinity, end);
  const maskset = marks.current ?? input.maskset;
  const masksetFrom = marks.current ? ('markers' as const) : input.maskset ? ('metadata' as const) : undefined;
  return { at: end, ...(maskset ? { maskset, masksetFrom } : {}), traceStart: pass.events ? pass.first : at, cpus, tasks, pendingTimers, lostBefore, losses: before.length ? describeLosses(before) : undefined, irqExitsTraced, missingExits, switchesTraced: model.tracksSwitches };
}

/** Which tasks a state listing shows (lkst state --pid, --comm, --alive). */
export interface TaskFilter {
  pids?: readonly number[];
  /** A part of the task's name. */
  comm?: string;
  /** Leave out tasks that exited. */
  alive?: boolean;
}

/** The state with only the tasks the filter keeps (CPUs and timers as they are). */
export function filterTasks(st: StateAt, f: TaskFilter): StateAt {
  const pids = f.pids?.length ? new Set(f.pids) : undefined;
  const tasks = st.tasks.filter((t) => (!pids || pids.has(t.pid)) && (f.comm === undefined || t.comm.includes(f.comm)) && (!f.alive || t.state !== 'dead'));
  return { ...st, tasks };
}
