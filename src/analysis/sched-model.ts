/**
 * The scheduler's view replayed from events: what runs on each CPU, each task's run state, the
 * system call it is in, the interrupt each CPU is handling, the locks tasks wait on or hold.
 * Other analyses subscribe to its transitions instead of decoding the same events again.
 */
import type { EventRegistry } from '../events/registry.js';
import type { TraceEvent } from './event.js';
import { Dispatch, SOFTIRQ_NAMES, hex } from './schema.js';
import { syscallName } from './syscall-names.js';
import { exitTraced } from './intervals.js';

export type RunState = 'running' | 'runnable' | 'sleeping' | 'blocked' | 'stopped' | 'dead' | 'unknown';

export interface Task {
  pid: number;
  comm: string;
  state: RunState;
  /** When the task entered its state; -1 when that was before the trace began. */
  since: number;
  /** CPU it runs on or last ran on (-1 unknown). */
  cpu: number;
  syscall?: { nr: number; name: string; since: number };
  /** A lock it waits for (lock:contention_begin): address, since when, kind (SPIN, MUTEX, READ|WRITE...). */
  lockWait?: { addr: string; since: number; kind: string };
  /** Locks held (lock:lock_acquire/lock_release, lockdep kernels only). */
  held: Map<string, { name: string; since: number }>;
  /** Time of the wakeup not yet followed by running (for wakeup latency). */
  wokenAt: number;
  wokenBy: number;
}

export interface CpuNow {
  cpu: number;
  pid: number;
  since: number;
  /**
   * Time of the CPU's first record. Its data can start later than other CPUs' (a wrapped buffer
   * keeps only its newest pages): what ran there before is unknown, not running.
   */
  first: number;
  /** Interrupt handlers active now, innermost last. */
  irqs: { kind: 'irq' | 'softirq'; id: number; name: string; since: number }[];
}

export interface SchedHooks {
  /** Before the switch is applied: prev leaves cpu in prevState, next comes in. */
  switch?(ts: number, cpu: number, prev: Task, next: Task, prevState: RunState): void;
  wake?(ts: number, task: Task, targetCpu: number, waker: number): void;
  /** A task found running on a CPU without a traced switch to it. */
  seenRunning?(ts: number, cpu: number, task: Task): void;
  syscall?(ts: number, task: Task, nr: number, name: string, durNs: number): void;
  /** An interrupt handler starts (counted even when its exit is not traced). */
  irqEntry?(ts: number, cpu: number, kind: 'irq' | 'softirq', name: string): void;
  irq?(ts: number, cpu: number, kind: 'irq' | 'softirq', name: string, durNs: number, startTs: number): void;
}

/** prev_state bits of sched_switch (task_state_index: S D T t X Z P I). */
export function runStateOf(prevState: number): RunState {
  const s = prevState & 0xff;
  if (s === 0) return 'runnable';
  if (s & 0x01 || s & 0x80 || s & 0x40) return 'sleeping';
  if (s & 0x02) return 'blocked';
  if (s & 0x0c) return 'stopped';
  if (s & 0x30) return 'dead';
  return 'unknown';
}

/** contention_begin flags (LCB_F_* in the kernel's trace/events/lock.h). */
const LOCK_FLAGS = ['SPIN', 'READ', 'WRITE', 'RT', 'PERCPU', 'MUTEX'];

export function lockKind(flags: number): string {
  return LOCK_FLAGS.filter((_, i) => flags & (1 << i)).join('|') || 'lock';
}

export { syscallName };

interface SavedSched {
  tasks: (Omit<Task, 'held'> & { held: [string, { name: string; since: number }][] })[];
  cpus: CpuNow[];
}

export class SchedModel {
  readonly tasks = new Map<number, Task>();
  readonly cpus = new Map<number, CpuNow>();
  private readonly dispatch = new Dispatch();
  private readonly hooks: SchedHooks[] = [];
  /** Without sched_switch, a CPU's task is only "the last one seen there". */
  readonly tracksSwitches: boolean;
  private readonly switchId: number;

  /**
   * opts.syscalls false: system calls are not replayed (no task's `syscall` is kept, no syscall
   * hook called): an analysis that reads neither skips a third to half of a typical trace's records.
   */
  constructor(reg: EventRegistry, private readonly cmdlines?: Map<number, string>, opts: { syscalls?: boolean } = {}) {
    const d = this.dispatch;
    this.switchId = reg.find('sched', 'sched_switch')?.id ?? -1;
    this.tracksSwitches = this.switchId >= 0;
    d.bind(reg, 'sched', 'sched_switch', ['prev_pid', 'prev_comm', 'prev_state', 'next_pid', 'next_comm'], (ev, f) => {
      this.onSwitch(ev.ts, ev.cpu, ev.num(f.prev_pid), ev.str(f.prev_comm), ev.num(f.prev_state), ev.num(f.next_pid), ev.str(f.next_comm));
    });
    // sched_waking is the earliest sign of a wakeup; sched_wakeup counts when waking is not traced.
    const hasWaking = !!reg.find('sched', 'sched_waking');
    for (const name of hasWaking ? ['sched_waking', 'sched_wakeup_new'] : ['sched_wakeup', 'sched_wakeup_new']) {
      d.bind(reg, 'sched', name, ['pid', 'comm', 'target_cpu'], (ev, f) => this.onWake(ev.ts, ev.num(f.pid), ev.str(f.comm), ev.num(f.target_cpu), ev.pid));
    }
    d.bind(reg, 'sched', 'sched_process_fork', ['child_pid', 'child_comm'], (ev, f) => {
      const t = this.task(ev.num(f.child_pid), ev.str(f.child_comm));
      this.setState(t, 'runnable', ev.ts);
    });
    d.bind(reg, 'sched', 'sched_process_exec', ['pid'], (ev, f) => {
      const t = this.tasks.get(ev.num(f.pid));
      const comm = ev.fmt?.fieldByName.get('filename');
      if (t && comm) t.comm = ev.str(comm).split('/').pop() || t.comm;
    });
    const syscalls = opts.syscalls ?? true;
    if (syscalls) {
      d.bind(reg, 'raw_syscalls', 'sys_enter', ['id'], (ev, f) => this.onSysEnter(ev.ts, ev.pid, ev.num(f.id), ev.cpu));
      d.bind(reg, 'raw_syscalls', 'sys_exit', ['id'], (ev, f) => this.onSysExit(ev.ts, ev.pid, ev.num(f.id)));
    }
    // Picked by name: parsing the ~700 syscalls formats would cost more than the pass over a small trace.
    for (const fmt of reg.identities()) {
      if (!syscalls || fmt.system !== 'syscalls') continue;
      if (fmt.name.startsWith('sys_enter_')) {
        const nm = fmt.name.slice('sys_enter_'.length);
        d.on(fmt, (ev) => this.onSysEnter(ev.ts, ev.pid, -1, ev.cpu, nm));
      } else if (fmt.name.startsWith('sys_exit_')) {
        d.on(fmt, (ev) => this.onSysExit(ev.ts, ev.pid, -1));
      }
    }
    // An entry whose exit is not traced is counted but never held open: it would look running forever.
    const irqTimed = exitTraced(reg, 'irq:irq_handler_entry');
    const softirqTimed = exitTraced(reg, 'irq:softirq_entry');
    d.bind(reg, 'irq', 'irq_handler_entry', ['irq', 'name'], (ev, f) => this.irqEnter(ev.ts, ev.cpu, 'irq', ev.num(f.irq), `irq ${ev.num(f.irq)} ${ev.str(f.name)}`, irqTimed));
    d.bind(reg, 'irq', 'irq_handler_exit', ['irq'], (ev, f) => this.irqExit(ev.ts, ev.cpu, 'irq', ev.num(f.irq)));
    d.bind(reg, 'irq', 'softirq_entry', ['vec'], (ev, f) => {
      const vec = ev.num(f.vec);
      this.irqEnter(ev.ts, ev.cpu, 'softirq', vec, `softirq ${SOFTIRQ_NAMES[vec] ?? vec}`, softirqTimed);
    });
    d.bind(reg, 'irq', 'softirq_exit', ['vec'], (ev, f) => this.irqExit(ev.ts, ev.cpu, 'softirq', ev.num(f.vec)));
    for (const fmt of reg.identities()) {
      // irq_vectors:<vector>_entry/_exit: the x86 interrupt vectors (local timer, IPIs...).
      if (fmt.system !== 'irq_vectors') continue;
      const m = /^(.*)_(entry|exit)$/.exec(fmt.name);
      if (!m) continue;
      const id = -1000 - (fmt.id & 0xffff);
      const name = `vector ${m[1]}`;
      const timed = exitTraced(reg, `irq_vectors:${fmt.name}`);
      if (m[2] === 'entry') d.on(fmt, (ev) => this.irqEnter(ev.ts, ev.cpu, 'irq', id, name, timed));
      else {
        const entry = reg.find('irq_vectors', `${m[1]}_entry`);
        const eid = entry ? -1000 - (entry.id & 0xffff) : id;
        d.on(fmt, (ev) => this.irqExit(ev.ts, ev.cpu, 'irq', eid));
      }
    }
    d.bind(reg, 'task', 'task_newtask', ['pid', 'comm'], (ev, f) => {
      const t = this.task(ev.num(f.pid), ev.str(f.comm));
      this.setState(t, 'runnable', ev.ts);
    });
    d.bind(reg, 'task', 'task_rename', ['pid', 'newcomm'], (ev, f) => void this.task(ev.num(f.pid), ev.str(f.newcomm)));
    d.bind(reg, 'lock', 'contention_begin', ['lock_addr', 'flags'], (ev, f) => {
      this.task(ev.pid).lockWait = { addr: hex(ev.big(f.lock_addr)), since: ev.ts, kind: lockKind(ev.num(f.flags)) };
    });
    d.bind(reg, 'lock', 'contention_end', ['lock_addr'], (ev) => {
      this.task(ev.pid).lockWait = undefined;
    });
    d.bind(reg, 'lock', 'lock_acquire', ['lockdep_addr', 'name'], (ev, f) => {
      this.task(ev.pid).held.set(hex(ev.big(f.lockdep_addr)), { name: ev.str(f.name), since: ev.ts });
    });
    d.bind(reg, 'lock', 'lock_release', ['lockdep_addr'], (ev, f) => {
      this.task(ev.pid).held.delete(hex(ev.big(f.lockdep_addr)));
    });
  }

  /** Tasks and CPUs as plain data (read before the pass goes on: it shares their arrays). */
  save(): SavedSched {
    // The syscall object is reused once the call ends (below): the saved task gets its own.
    return { tasks: [...this.tasks.values()].map((t) => ({ ...t, ...(t.syscall ? { syscall: { ...t.syscall } } : {}), held: [...t.held] })), cpus: [...this.cpus.values()] };
  }

  load(s: unknown): void {
    const saved = s as SavedSched;
    this.tasks.clear();
    this.cpus.clear();
    for (const t of saved.tasks) this.tasks.set(t.pid, { ...t, held: new Map(t.held) });
    this.byCpu = [];
    for (const c of saved.cpus) this.byCpu[c.cpu] = this.cpus.set(c.cpu, { ...c, irqs: c.irqs.map((i) => ({ ...i })) }).get(c.cpu)!;
  }

  subscribe(h: SchedHooks): void {
    this.hooks.push(h);
  }

  event(ev: TraceEvent): void {
    const here = this.cpu(ev.cpu);
    if (here.first < 0) here.first = ev.ts;
    this.dispatch.run(ev);
    // Any other event from a task on a CPU says it runs there now (interrupts report the task
    // they interrupted), even when its switch in was not traced (lkst leaves its own out).
    const pid = ev.pid;
    if (pid < 0 || ev.id === this.switchId) return;
    const c = here;
    if (c.pid === pid) return;
    if (!this.tracksSwitches) {
      c.pid = pid;
      return;
    }
    if (pid === 0) return;
    if (c.pid > 0) {
      const gone = this.tasks.get(c.pid);
      if (gone && gone.state === 'running' && gone.cpu === ev.cpu) this.setState(gone, 'unknown', ev.ts);
    }
    c.pid = pid;
    c.since = -1;
    const t = this.task(pid);
    if (t.state !== 'running') {
      this.setState(t, 'running', t.state === 'unknown' && t.since < 0 ? -1 : ev.ts);
      for (const h of this.hooks) h.seenRunning?.(ev.ts, ev.cpu, t);
    }
    t.cpu = ev.cpu;
    t.wokenAt = -1;
  }

  task(pid: number, comm?: string): Task {
    let t = this.tasks.get(pid);
    if (!t) {
      t = { pid, comm: comm || this.commOf(pid), state: 'unknown', since: -1, cpu: -1, held: new Map(), wokenAt: -1, wokenBy: -1 };
      this.tasks.set(pid, t);
    } else if (comm && pid !== 0) t.comm = comm;
    return t;
  }

  /** A task's name: as last seen in the trace, else from saved_cmdlines, else <pid>. */
  commOf(pid: number): string {
    return this.tasks.get(pid)?.comm ?? this.cmdlines?.get(pid) ?? (pid === 0 ? 'swapper' : `<${pid}>`);
  }

  cpu(cpu: number): CpuNow {
    let c = this.byCpu[cpu];
    if (!c) {
      c = { cpu, pid: -1, since: -1, first: -1, irqs: [] };
      this.cpus.set(cpu, c);
      this.byCpu[cpu] = c;
    }
    return c;
  }

  /** The same CPUs by number, for the per-record lookup. */
  private byCpu: CpuNow[] = [];

  private setState(t: Task, s: RunState, ts: number): void {
    if (t.state !== s) {
      t.state = s;
      t.since = ts;
    }
  }

  private onSwitch(ts: number, cpu: number, prevPid: number, prevComm: string, prevStateBits: number, nextPid: number, nextComm: string): void {
    const prev = this.task(prevPid, prevComm);
    const next = this.task(nextPid, nextComm);
    const prevState = prevPid === 0 ? 'runnable' : runStateOf(prevStateBits);
    for (const h of this.hooks) h.switch?.(ts, cpu, prev, next, prevState);
    if (prevPid !== 0) this.setState(prev, prevState, ts);
    if (prevState === 'runnable') {
      prev.wokenAt = ts; // preempted: waiting to run again from now
      prev.wokenBy = -1;
    }
    const c = this.cpu(cpu);
    // The task we thought was here left untraced (e.g. the recorder excludes itself): no longer known.
    if (c.pid > 0 && c.pid !== prevPid) {
      const gone = this.tasks.get(c.pid);
      if (gone && gone.state === 'running' && gone.cpu === cpu) this.setState(gone, 'unknown', ts);
    }
    if (nextPid !== 0) this.setState(next, 'running', ts);
    next.cpu = cpu;
    next.wokenAt = -1;
    c.pid = nextPid;
    c.since = ts;
  }

  private onWake(ts: number, pid: number, comm: string, targetCpu: number, waker: number): void {
    const t = this.task(pid, comm);
    if (t.state === 'running') return;
    for (const h of this.hooks) h.wake?.(ts, t, targetCpu, waker);
    this.setState(t, 'runnable', ts);
    if (t.wokenAt < 0) {
      t.wokenAt = ts;
      t.wokenBy = waker;
    }
  }

  private onSysEnter(ts: number, pid: number, nr: number, cpu: number, name?: string): void {
    const t = this.task(pid);
    const sc = t.syscall ?? this.spareSyscalls.pop();
    if (sc) {
      sc.nr = nr;
      sc.name = name ?? syscallName(nr);
      sc.since = ts;
      t.syscall = sc;
    } else t.syscall = { nr, name: name ?? syscallName(nr), since: ts };
    if (t.state === 'unknown') {
      t.state = 'running';
      t.cpu = cpu;
    }
  }

  private onSysExit(ts: number, pid: number, nr: number): void {
    const t = this.tasks.get(pid);
    if (!t) return;
    const sc = t.syscall;
    if (!sc) return;
    if (nr < 0 || sc.nr < 0 || sc.nr === nr) for (const h of this.hooks) h.syscall?.(ts, t, sc.nr, sc.name, ts - sc.since);
    t.syscall = undefined;
    if (this.spareSyscalls.length < 64) this.spareSyscalls.push(sc);
  }

  /** Ended calls' objects, for the next sys_enter (a storm's million short-lived objects were a tenth of the pass's CPU). */
  private readonly spareSyscalls: NonNullable<Task['syscall']>[] = [];

  private irqEnter(ts: number, cpu: number, kind: 'irq' | 'softirq', id: number, name: string, timed: boolean): void {
    for (const h of this.hooks) h.irqEntry?.(ts, cpu, kind, name);
    if (!timed) return;
    const stack = this.cpu(cpu).irqs;
    // A lost exit would leave its entry open: keep the latest few.
    if (stack.length >= 8) stack.shift();
    stack.push({ kind, id, name, since: ts });
  }

  private irqExit(ts: number, cpu: number, kind: 'irq' | 'softirq', id: number): void {
    const stack = this.cpu(cpu).irqs;
    for (let i = stack.length - 1; i >= 0; i--) {
      const e = stack[i]!;
      if (e.kind === kind && e.id === id) {
        for (const h of this.hooks) h.irq?.(ts, cpu, kind, e.name, ts - e.since, e.since);
        stack.splice(i);
        return;
      }
    }
  }
}
