/**
 * The viewer's data, built in one pass: columns of every event (time, CPU, task, type), running
 * and interrupt slices, wakeups, markers and lost-event marks, plus each record's raw bytes so a
 * clicked event's fields can be decoded on demand. Sent to the page as one binary blob.
 */
import type { TraceInput } from '../analysis/input.js';
import { Pass } from '../analysis/pass.js';
import { StatsAnalysis, type TraceStats } from '../analysis/stats.js';
import { TimerAnalysis, type TimerReport } from '../analysis/timers.js';
import { LatencyAnalysis, type LatencyReport } from '../analysis/latency.js';
import { bindFields } from '../analysis/schema.js';
import { MarkerAnalysis } from '../analysis/markers.js';
import type { EventFormat } from '../events/format.js';

/** A typed array that grows as values are pushed. */
class Column<T extends Float64Array | Int32Array> {
  n = 0;
  constructor(
    private a: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  get view(): T {
    return this.a.subarray(0, this.n) as T;
  }
}
const f64 = () => new Column(new Float64Array(1024), (n) => new Float64Array(n));
const i32 = () => new Column(new Int32Array(1024), (n) => new Int32Array(n));

/** Growing byte arena holding each event's raw record. */
class Arena {
  buf = Buffer.allocUnsafe(1 << 20);
  len = 0;
  put(src: Buffer, off: number, n: number): number {
    if (this.len + n > this.buf.length) {
      const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(b, 0, 0, this.len);
      this.buf = b;
    }
    src.copy(this.buf, this.len, off, off + n);
    const at = this.len;
    this.len += n;
    return at;
  }
}

export interface TimelineMeta {
  start: number;
  end: number;
  cpus: number[];
  /** The buffers read, by index ("" for the top-level buffer): ev.buf and lost.buf point here. */
  buffers: string[];
  /** Event type index → system:name. */
  types: string[];
  tasks: { pid: number; comm: string; runNs: number }[];
  markers: { ts: number; cpu: number; text: string }[];
  masksetSwitches: { ts: number; from: string; to: string }[];
  counts: Record<string, number>;
}

export interface Timeline {
  meta: TimelineMeta;
  /** Per event: ns since start, CPU, pid, type index, and (for wakeups) the woken pid. */
  ev: { ts: Float64Array; cpu: Int32Array; buf: Int32Array; pid: Int32Array; type: Int32Array; target: Int32Array; recOff: Int32Array; recLen: Int32Array };
  /** Running slices (one CPU, one task). */
  run: { start: Float64Array; end: Float64Array; cpu: Int32Array; pid: Int32Array };
  /** Interrupt slices on a CPU; name index into irqNames. */
  irq: { start: Float64Array; end: Float64Array; cpu: Int32Array; name: Int32Array; names: string[] };
  lost: { ts: Float64Array; cpu: Int32Array; buf: Int32Array; count: Int32Array };
  arena: Buffer;
  formats: (EventFormat | undefined)[];
  stats: TraceStats;
  timers: TimerReport;
  latency: LatencyReport;
}

export interface TimelineWindow {
  /** Absolute ns; events before are replayed for state but not shown. */
  from?: number;
  /** Absolute ns; the pass stops after it. */
  to?: number;
}

/** Builds the viewer's data; a window keeps a long trace's viewer within memory. */
export function buildTimeline(input: TraceInput, win: TimelineWindow = {}): Timeline {
  const from = win.from ?? -Infinity;
  const reg = input.registry;
  const typeOf = new Map<number, number>();
  const types: string[] = [];
  const formats: (EventFormat | undefined)[] = [];
  const ts = f64();
  const cpu = i32();
  const buf = i32();
  const bufferNames = input.buffers.map((b) => b.name);
  const bufIndex = (name: string) => Math.max(0, bufferNames.indexOf(name));
  const pid = i32();
  const type = i32();
  const target = i32();
  const recOff = i32();
  const recLen = i32();
  const arena = new Arena();
  const run = { start: f64(), end: f64(), cpu: i32(), pid: i32() };
  const irq = { start: f64(), end: f64(), cpu: i32(), name: i32() };
  const irqNames: string[] = [];
  const irqIdx = new Map<string, number>();
  const lost = { ts: f64(), cpu: i32(), buf: i32(), count: i32() };
  const pass = new Pass(input);
  const stats = pass.add(new StatsAnalysis(pass));
  const timers = pass.add(new TimerAnalysis(input));
  const latency = pass.add(new LatencyAnalysis(pass));
  const marks = pass.add(new MarkerAnalysis(input));
  let t0 = NaN;
  const rel = (t: number) => t - t0;
  /** The first time shown is the origin of every column's times. */
  const origin = (t: number) => {
    if (Number.isNaN(t0) && t >= from) t0 = t;
  };
  const onCpu = new Map<number, { pid: number; since: number }>();
  pass.model.subscribe({
    switch: (t, c, prev) => {
      const cur = onCpu.get(c);
      origin(t);
      if (cur && cur.pid === prev.pid && t >= from) {
        run.start.push(rel(Math.max(cur.since, t0)));
        run.end.push(rel(t));
        run.cpu.push(c);
        run.pid.push(prev.pid);
      }
    },
    irq: (t, c, _kind, name, _dur, start) => {
      if (t < from) return;
      origin(t);
      let i = irqIdx.get(name);
      if (i === undefined) {
        i = irqNames.push(name) - 1;
        irqIdx.set(name, i);
      }
      irq.start.push(rel(Math.max(start, t0)));
      irq.end.push(rel(t));
      irq.cpu.push(c);
      irq.name.push(i);
    },
  });
  const wakeTargets = new Map<number, import('../events/format.js').Field>();
  for (const name of ['sched_waking', 'sched_wakeup', 'sched_wakeup_new']) {
    const b = bindFields(reg, 'sched', name, ['pid']);
    if (b) wakeTargets.set(b.fmt.id, b.pid);
  }
  pass.add({
    event: (ev) => {
      const c = pass.model.cpus.get(ev.cpu);
      if (c && c.since === ev.ts) onCpu.set(ev.cpu, { pid: c.pid, since: c.since });
      if (ev.ts < from) return;
      origin(ev.ts);
      let ti = typeOf.get(ev.id);
      if (ti === undefined) {
        ti = types.push(ev.fmt ? `${ev.fmt.system}:${ev.fmt.name}` : `unknown-${ev.id}`) - 1;
        formats.push(ev.fmt);
        typeOf.set(ev.id, ti);
      }
      ts.push(rel(ev.ts));
      cpu.push(ev.cpu);
      buf.push(bufIndex(ev.buffer));
      pid.push(ev.pid);
      type.push(ti);
      const wf = wakeTargets.get(ev.id);
      target.push(wf ? ev.num(wf) : -1);
      recOff.push(arena.put(ev.buf, ev.off, ev.len));
      recLen.push(ev.len);
    },
    lost: (c, t, n, b) => {
      if (t < from) return;
      lost.ts.push(Number.isNaN(t0) ? 0 : rel(t));
      lost.cpu.push(c);
      lost.buf.push(bufIndex(b));
      lost.count.push(n);
    },
  });
  pass.run({ until: win.to });
  if (Number.isNaN(t0)) t0 = 0;
  const end = pass.events ? pass.last - t0 : 0;
  for (const [c, cur] of onCpu) {
    if (cur.pid <= 0) continue;
    run.start.push(Math.max(0, rel(cur.since)));
    run.end.push(end);
    run.cpu.push(c);
    run.pid.push(cur.pid);
  }
  const st = stats.result();
  const cpus = [...new Set([...input.buffers.flatMap((b) => b.cpus.map((c) => c.cpu)), ...st.byCpu.map((c) => c.cpu)])].sort((a, b) => a - b);
  const counts: Record<string, number> = {};
  for (const e of st.byEvent) counts[e.event] = e.count;
  return {
    meta: {
      start: t0,
      end,
      cpus,
      buffers: bufferNames,
      types,
      tasks: st.tasks.filter((t) => t.pid > 0).map((t) => ({ pid: t.pid, comm: t.comm, runNs: t.runNs })),
      markers: marks.markers.filter((m) => m.ts >= from).map((m) => ({ ...m, ts: rel(m.ts) })),
      masksetSwitches: marks.switches.filter((m) => m.ts >= from).map((m) => ({ ...m, ts: rel(m.ts) })),
      counts,
    },
    ev: { ts: ts.view, cpu: cpu.view, buf: buf.view, pid: pid.view, type: type.view, target: target.view, recOff: recOff.view, recLen: recLen.view },
    run: { start: run.start.view, end: run.end.view, cpu: run.cpu.view, pid: run.pid.view },
    irq: { start: irq.start.view, end: irq.end.view, cpu: irq.cpu.view, name: irq.name.view, names: irqNames },
    lost: { ts: lost.ts.view, cpu: lost.cpu.view, buf: lost.buf.view, count: lost.count.view },
    arena: arena.buf.subarray(0, arena.len),
    formats,
    stats: st,
    timers: timers.result(),
    latency: latency.result(),
  };
}

/**
 * The binary blob the page reads: u32 JSON length, the JSON (metadata and column lengths), padding
 * to 8 bytes, then each column's bytes in the order the JSON lists them, each 8-byte aligned.
 */
export function encodeTimeline(t: Timeline): Buffer {
  const cols: [string, Float64Array | Int32Array][] = [
    ['ev.ts', t.ev.ts],
    ['ev.cpu', t.ev.cpu],
    ['ev.buf', t.ev.buf],
    ['ev.pid', t.ev.pid],
    ['ev.type', t.ev.type],
    ['ev.target', t.ev.target],
    ['run.start', t.run.start],
    ['run.end', t.run.end],
    ['run.cpu', t.run.cpu],
    ['run.pid', t.run.pid],
    ['irq.start', t.irq.start],
    ['irq.end', t.irq.end],
    ['irq.cpu', t.irq.cpu],
    ['irq.name', t.irq.name],
    ['lost.ts', t.lost.ts],
    ['lost.cpu', t.lost.cpu],
    ['lost.buf', t.lost.buf],
    ['lost.count', t.lost.count],
  ];
  const header = Buffer.from(
    JSON.stringify({
      meta: { ...t.meta, irqNames: t.irq.names },
      columns: cols.map(([name, a]) => ({ name, kind: a instanceof Float64Array ? 'f64' : 'i32', length: a.length })),
    }),
    'utf8',
  );
  const pad8 = (n: number) => (8 - (n % 8)) % 8;
  let size = 4 + header.length;
  size += pad8(size);
  for (const [, a] of cols) size += a.byteLength + pad8(a.byteLength);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  let p = 4 + header.length;
  p += pad8(p);
  for (const [, a] of cols) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, p);
    p += a.byteLength + pad8(a.byteLength);
  }
  return out;
}
