/**
 * What the viewer serves, built in one streaming pass over the trace and never holding an event:
 * per (buffer, CPU) track a pyramid of event counts, the running and interrupt intervals, wakeup ->
 * run flows, lost-event ranges, markers and the thread groups. Raw events of a narrow window and a
 * clicked event's fields are read again from the trace (reader.ts), found by time.
 */
import type { TraceInput } from '../analysis/input.js';
import { Pass } from '../analysis/pass.js';
import { MarkerAnalysis } from '../analysis/markers.js';
import { bindFields } from '../analysis/schema.js';
import { TaskTree } from '../export/perfetto/process-tree.js';
import { inputStreams } from '../analysis/input.js';
import { CountPyramid } from './pyramid.js';
import { growF64, growI32, IntervalColumns, type Intervals } from './slices.js';
import { ChunkIndex } from './reader.js';
import { cpuTrackId, type CpuTrackInfo, type LostRange, type ProcessInfo, type ViewMeta } from './schema.js';

/** Summary buckets over all CPU tracks together, at the finest level (bounds the pyramids' memory). */
const BUCKET_BUDGET = 1 << 22;
const MAX_BUCKETS = 1 << 18;
const FIRST_BUCKET_NS = 64;
/** Windows with at most this many events are sent as events. */
export const RAW_LIMIT = 20_000;

export interface Flows {
  wake: Float64Array;
  run: Float64Array;
  pid: Int32Array;
  waker: Int32Array;
  cpu: Int32Array;
}

export interface ViewData {
  meta: ViewMeta;
  /** One per entry of meta.cpuTracks. */
  pyramids: CountPyramid[];
  /** Key: the stream's index in meta.cpuTracks (running: value pid; irq: value index into irqNames). */
  running: Intervals;
  /** The same intervals by pid (key) are running.byValue. */
  irqs: Intervals;
  irqNames: string[];
  flows: Flows;
  /** Type index (meta.types) by event format id (-1: not seen). */
  typeById: Int32Array;
  chunks: ChunkIndex;
  input: TraceInput;
}

export interface ViewWindow {
  /** Absolute ns: events before only build the state. */
  from?: number;
  /** Absolute ns: the pass stops after it. */
  to?: number;
}

export function buildViewData(input: TraceInput, title: string, win: ViewWindow = {}): ViewData {
  const from = win.from ?? -Infinity;
  const chunks = new ChunkIndex(input);
  const watched = chunks.watch();
  const streams = inputStreams(input);
  // Stream index by buffer name, then CPU: no string is built per event.
  const byBuffer = new Map<string, number[]>();
  streams.forEach((s, i) => {
    let a = byBuffer.get(s.buffer);
    if (!a) byBuffer.set(s.buffer, (a = []));
    a[s.stream.cpu] = i;
  });
  const streamOf = (buffer: string, cpu: number) => byBuffer.get(buffer)?.[cpu] ?? 0;
  const bufferNames = input.buffers.map((b) => b.name);
  const cpuTracks: CpuTrackInfo[] = streams.map((s) => ({ id: cpuTrackId(bufferNames.indexOf(s.buffer), s.stream.cpu), buffer: bufferNames.indexOf(s.buffer), cpu: s.stream.cpu, events: 0 }));
  // The span is known only at the end: buckets start narrow and all double together when an event falls past them.
  const perTrack = Math.max(1024, Math.min(MAX_BUCKETS, Math.floor(BUCKET_BUDGET / Math.max(1, streams.length))));
  const pyramids = streams.map(() => new CountPyramid(FIRST_BUCKET_NS, perTrack));
  let reach = FIRST_BUCKET_NS * perTrack;
  /** The first time shown is the origin of every time sent. */
  let t0 = NaN;
  const origin = (t: number) => {
    if (Number.isNaN(t0) && t >= from) t0 = t;
  };
  const pass = new Pass(watched);
  const marks = pass.add(new MarkerAnalysis(input));
  // The thread-group tree learns only from these events: fed nothing else, it costs nothing per event.
  const tree = new TaskTree(input.registry);
  const treeIds = new Set(
    [['sched', 'sched_process_exec'], ['task', 'task_newtask'], ['sched', 'sched_process_fork']].flatMap(([sys, name]) => {
      const b = bindFields(input.registry, sys!, name!, []);
      return b ? [b.fmt.id] : [];
    }),
  );
  if (treeIds.size) pass.add({ event: (ev) => void (treeIds.has(ev.id) && tree.event(ev)) });
  const running = new IntervalColumns();
  const irqs = new IntervalColumns();
  const irqNames: string[] = [];
  const irqIdx = new Map<string, number>();
  const flows = { wake: growF64(), run: growF64(), pid: growI32(), waker: growI32(), cpu: growI32() };
  // Event ids are u16: an array beats a Map on the per-event path.
  const typeById = new Int32Array(65536).fill(-1);
  const types: string[] = [];
  const counts: number[] = [];
  const lastTs = new Float64Array(streams.length).fill(NaN);
  const lost: LostRange[] = [];
  let lostTotal = 0;
  let shown = 0;
  let lastShown = t0;
  /** The first stream of a CPU holds its running intervals (all buffers see the same CPUs). */
  const cpuStream = new Map<number, number>();
  for (let i = streams.length - 1; i >= 0; i--) cpuStream.set(streams[i]!.stream.cpu, i);
  const onCpu = new Map<number, { pid: number; since: number }>();
  pass.model.subscribe({
    switch: (t, c, prev, next) => {
      origin(t);
      const cur = onCpu.get(c);
      if (cur && cur.pid === prev.pid && t >= from) running.push(Math.max(cur.since, t0) - t0, t - t0, cpuStream.get(c) ?? 0, prev.pid);
      onCpu.set(c, { pid: next.pid, since: t });
      if (next.wokenBy >= 0 && next.wokenAt >= 0 && t >= from) {
        flows.wake.push(Math.max(next.wokenAt, t0) - t0);
        flows.run.push(t - t0);
        flows.pid.push(next.pid);
        flows.waker.push(next.wokenBy);
        flows.cpu.push(c);
      }
    },
    seenRunning: (t, c, task) => {
      if (!onCpu.has(c)) onCpu.set(c, { pid: task.pid, since: t });
    },
    irq: (t, c, _kind, name, _dur, start) => {
      if (t < from) return;
      origin(t);
      let i = irqIdx.get(name);
      if (i === undefined) {
        i = irqNames.push(name) - 1;
        irqIdx.set(name, i);
      }
      irqs.push(Math.max(start, t0) - t0, t - t0, cpuStream.get(c) ?? 0, i);
    },
  });
  pass.add({
    event: (ev) => {
      const s = streamOf(ev.buffer, ev.cpu);
      lastTs[s] = ev.ts;
      if (ev.ts < from) return;
      origin(ev.ts);
      let ti = typeById[ev.id & 0xffff]!;
      if (ti < 0) {
        ti = types.push(ev.fmt ? `${ev.fmt.system}:${ev.fmt.name}` : `unknown-${ev.id}`) - 1;
        counts.push(0);
        typeById[ev.id & 0xffff] = ti;
      }
      counts[ti]!++;
      const rel = ev.ts - t0;
      while (rel >= reach) {
        for (const p of pyramids) p.coarsen();
        reach *= 2;
      }
      pyramids[s]!.add(rel);
      cpuTracks[s]!.events++;
      shown++;
      lastShown = ev.ts;
    },
    lost: (c, t, n, b) => {
      const s = streamOf(b, c);
      if (t < from) return;
      origin(t);
      const prev = lastTs[s]!;
      lost.push({ buffer: bufferNames.indexOf(b), cpu: c, start: (Number.isNaN(prev) ? t0 : Math.max(prev, t0)) - t0, end: t - t0, count: n });
      if (n > 0) lostTotal += n;
    },
  });
  pass.run({ until: win.to });
  if (Number.isNaN(t0)) t0 = 0;
  for (const p of pyramids) p.finish();
  const end = Math.max(0, lastShown - t0);
  for (const [c, cur] of onCpu) if (cur.pid > 0) running.push(Math.max(0, cur.since - t0), end, cpuStream.get(c) ?? 0, cur.pid);
  const run = running.seal(true);
  const runNs = new Map<number, number>();
  for (let i = 0; i < run.length; i++) runNs.set(run.value[i]!, (runNs.get(run.value[i]!) ?? 0) + run.end[i]! - run.start[i]!);
  const flowCols = { wake: flows.wake.view, run: flows.run.view, pid: flows.pid.view, waker: flows.waker.view, cpu: flows.cpu.view };
  return {
    meta: {
      title,
      start: t0,
      end,
      events: shown,
      buffers: bufferNames,
      cpuTracks,
      processes: threadGroups(pass, tree, runNs),
      types,
      counts: Object.fromEntries(types.map((t, i) => [t, counts[i]!])),
      markers: marks.markers.filter((m) => m.ts >= from).map((m) => ({ ...m, ts: m.ts - t0 })),
      masksetSwitches: marks.switches.filter((m) => m.ts >= from).map((m) => ({ ...m, ts: m.ts - t0 })),
      lost,
      lostTotal,
      baseNs: pyramids[0]?.baseNs ?? FIRST_BUCKET_NS,
      levels: pyramids[0]?.levels.length ?? 1,
      rawLimit: RAW_LIMIT,
      warnings: [...(input.warnings ?? [])],
    },
    pyramids,
    running: run,
    irqs: irqs.seal(),
    irqNames,
    flows: flowCols,
    typeById,
    chunks,
    input,
  };
}

/** Threads grouped under their process where the trace shows the group; the others each alone. */
function threadGroups(pass: Pass, tree: TaskTree, runNs: Map<number, number>): ProcessInfo[] {
  const tgid = new Map<number, number>();
  for (const c of tree.chunks()) for (const t of c.threads) tgid.set(t.tid, t.tgid);
  const groups = new Map<number, ProcessInfo>();
  const comm = (pid: number) => pass.model.tasks.get(pid)?.comm ?? '';
  for (const pid of new Set([...runNs.keys(), ...pass.model.tasks.keys()])) {
    if (pid <= 0) continue;
    const g = tgid.get(pid);
    const key = g ?? pid;
    let p = groups.get(key);
    if (!p) groups.set(key, (p = { pid: key, comm: comm(key), known: g !== undefined, threads: [] }));
    p.threads.push({ pid, comm: comm(pid), runNs: runNs.get(pid) ?? 0 });
  }
  const busy = (p: ProcessInfo) => p.threads.reduce((s, t) => s + t.runNs, 0);
  for (const p of groups.values()) p.threads.sort((a, b) => b.runNs - a.runNs || a.pid - b.pid);
  return [...groups.values()].sort((a, b) => busy(b) - busy(a) || a.pid - b.pid);
}
