/**
 * ProcessTree packets: the threads whose thread group (tgid) the trace shows, and the processes whose
 * parent it shows, as the importer reads them (src/trace_processor/importers/proto/system_probes_parser.cc,
 * ParseProcessTree; the rules mirror ftrace_parser.cc ParseTaskNewTask). What the trace shows:
 *  - sched_process_exec: `pid` leads its thread group after the exec; a different old_pid was a
 *    thread of it (the exec made it take the leader's pid).
 *  - task_newtask: with CLONE_THREAD the child joins its creator's group; without, it leads a new
 *    process whose parent is the creator's process (the creator's parent with CLONE_PARENT).
 *  - sched_process_fork: a child that is then seen leading its group (it exec'd as itself) was a
 *    new process of the forker's process (a CLONE_PARENT fork is not told apart here).
 * Not knowable: the group of a task that existed before the trace and neither exec'd nor was created
 * in it, nor the parent of such a process: trace.dat has no tgid section (trace-cmd saves no
 * saved_tgids) and no process list. Those are left out, since the importer files a Thread without
 * tgid under pid 0 (ProcessTracker::UpdateThread) and a Process without ppid as a child of pid 0.
 * A pid reused within the trace is taken for one task.
 */
import type { EventRegistry } from '../../events/registry.js';
import type { TraceEvent } from '../../analysis/event.js';
import { Dispatch } from '../../analysis/schema.js';
import type { ProtoWriter } from '../protobuf.js';
import { PROCESS, PROCESS_TREE, THREAD } from './ids.js';

const CLONE_PARENT = 0x8000;
const CLONE_THREAD = 0x10000;

export interface TreeThread {
  tid: number;
  tgid: number;
}

export interface TreeProcess {
  pid: number;
  ppid: number;
}

/** One ProcessTree packet: what is known of these tasks, stated at time ts (when they are alive). */
export interface TreeChunk {
  ts: number;
  threads: TreeThread[];
  processes: TreeProcess[];
}

export class TaskTree {
  private readonly dispatch = new Dispatch();
  /** Union-find over tids of one thread group. */
  private readonly up = new Map<number, number>();
  /** Tids known to lead their group. */
  private readonly leaders = new Set<number>();
  /** Leader of a process created in the trace → the thread that created it, and whether with CLONE_PARENT. */
  private readonly creator = new Map<number, { tid: number; cloneParent: boolean }>();
  /** sched_process_fork: child → forking thread. */
  private readonly forkedBy = new Map<number, number>();
  /** First time each task is seen acting (common_pid), or else mentioned. */
  private readonly active = new Map<number, number>();
  private readonly mentioned = new Map<number, number>();

  constructor(reg: EventRegistry) {
    const d = this.dispatch;
    d.bind(reg, 'sched', 'sched_process_exec', ['pid', 'old_pid'], (ev, f) => {
      const pid = ev.num(f.pid);
      const old = ev.num(f.old_pid);
      this.lead(pid, ev.ts);
      if (old !== pid) this.join(old, pid, ev.ts);
    });
    d.bind(reg, 'task', 'task_newtask', ['pid', 'clone_flags'], (ev, f) => {
      const child = ev.num(f.pid);
      const flags = Number(ev.big(f.clone_flags) & 0xffffffffn);
      if (flags & CLONE_THREAD) this.join(child, ev.pid, ev.ts);
      else {
        this.lead(child, ev.ts);
        this.creator.set(child, { tid: ev.pid, cloneParent: (flags & CLONE_PARENT) !== 0 });
      }
    });
    d.bind(reg, 'sched', 'sched_process_fork', ['parent_pid', 'child_pid'], (ev, f) => {
      const child = ev.num(f.child_pid);
      this.forkedBy.set(child, ev.num(f.parent_pid));
      this.mention(child, ev.ts);
    });
  }

  event(ev: TraceEvent): void {
    const pid = ev.pid;
    if (pid > 0 && !this.active.has(pid)) this.active.set(pid, ev.ts);
    this.dispatch.run(ev);
  }

  private mention(tid: number, ts: number): void {
    if (tid <= 0) return;
    if (!this.up.has(tid)) this.up.set(tid, tid);
    if (!this.mentioned.has(tid)) this.mentioned.set(tid, ts);
  }

  private find(tid: number): number {
    let r = tid;
    for (let p = this.up.get(r); p !== undefined && p !== r; p = this.up.get(r)) r = p;
    for (let t = tid; t !== r; ) {
      const next = this.up.get(t)!;
      this.up.set(t, r);
      t = next;
    }
    return r;
  }

  private join(a: number, b: number, ts: number): void {
    if (a <= 0 || b <= 0) return;
    this.mention(a, ts);
    this.mention(b, ts);
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.up.set(ra, rb);
  }

  private lead(tid: number, ts: number): void {
    if (tid <= 0) return;
    this.mention(tid, ts);
    this.leaders.add(tid);
  }

  /** The parent process of the process led by pid, when the trace shows it. */
  private ppidOf(pid: number, tgidOf: (tid: number) => number | undefined, depth = 0): number | undefined {
    if (depth > 64) return undefined;
    const c = this.creator.get(pid);
    if (c) {
      const g = tgidOf(c.tid);
      return g === undefined ? undefined : c.cloneParent ? this.ppidOf(g, tgidOf, depth + 1) : g;
    }
    const forker = this.forkedBy.get(pid);
    return forker === undefined ? undefined : tgidOf(forker);
  }

  /** What is known, grouped by the time each task is first seen (so it exists when the importer reads it). */
  chunks(): TreeChunk[] {
    const groups = new Map<number, number>();
    for (const l of this.leaders) groups.set(this.find(l), l);
    const tgidOf = (tid: number) => (this.leaders.has(tid) ? tid : this.up.has(tid) ? groups.get(this.find(tid)) : undefined);
    const byTs = new Map<number, TreeChunk>();
    const at = (tid: number): TreeChunk => {
      const ts = this.active.get(tid) ?? this.mentioned.get(tid) ?? 0;
      let c = byTs.get(ts);
      if (!c) byTs.set(ts, (c = { ts, threads: [], processes: [] }));
      return c;
    };
    for (const tid of this.up.keys()) {
      const tgid = tgidOf(tid);
      if (tgid === undefined) continue;
      at(tid).threads.push({ tid, tgid });
      if (tid !== tgid) continue;
      const ppid = this.ppidOf(tid, tgidOf);
      if (ppid !== undefined) at(tid).processes.push({ pid: tid, ppid });
    }
    return [...byTs.values()].sort((a, b) => a.ts - b.ts);
  }
}

/** A ProcessTree message of one chunk; names are the tasks' comms (the process's cmdline is its comm). */
export function writeProcessTree(w: ProtoWriter, chunk: TreeChunk, commOf: (pid: number) => string): void {
  for (const p of chunk.processes) {
    w.message(PROCESS_TREE.processes, (m) => m.int(PROCESS.pid, p.pid).int(PROCESS.ppid, p.ppid).string(PROCESS.cmdline, commOf(p.pid)).int(PROCESS.cmdlineIsComm, true));
  }
  for (const t of chunk.threads) {
    w.message(PROCESS_TREE.threads, (m) => m.int(THREAD.tid, t.tid).int(THREAD.tgid, t.tgid).string(THREAD.name, commOf(t.tid)));
  }
}
