/**
 * The binary blocks the viewer's server sends and its page reads, and the shapes of their headers.
 * Shared by both sides, so it uses no Node API. A block: u32 header length, the JSON header (its
 * meta and the columns' names, kinds and lengths), then each column's bytes, each 8-byte aligned.
 */

export type ColumnKind = 'f64' | 'f32' | 'i32' | 'u32';
export type Column = Float64Array | Float32Array | Int32Array | Uint32Array;

interface ColumnHead {
  name: string;
  kind: ColumnKind;
  length: number;
}

export interface Block<M> {
  meta: M;
  cols: Record<string, Column>;
}

const kindOf = (a: Column): ColumnKind => (a instanceof Float64Array ? 'f64' : a instanceof Float32Array ? 'f32' : a instanceof Uint32Array ? 'u32' : 'i32');
const pad8 = (n: number) => (8 - (n % 8)) % 8;

export function encodeBlock(meta: unknown, cols: Record<string, Column>): Uint8Array {
  const names = Object.keys(cols);
  const head = new TextEncoder().encode(JSON.stringify({ meta, columns: names.map((name) => ({ name, kind: kindOf(cols[name]!), length: cols[name]!.length })) }));
  let size = 4 + head.length;
  size += pad8(size);
  for (const n of names) size += cols[n]!.byteLength + pad8(cols[n]!.byteLength);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  let p = 4 + head.length;
  p += pad8(p);
  for (const n of names) {
    const a = cols[n]!;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), p);
    p += a.byteLength + pad8(a.byteLength);
  }
  return out;
}

export function decodeBlock<M>(buf: ArrayBuffer): Block<M> {
  const hl = new DataView(buf).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, hl))) as { meta: M; columns: ColumnHead[] };
  let p = 4 + hl;
  p += pad8(p);
  const cols: Record<string, Column> = {};
  for (const c of head.columns) {
    const a = c.kind === 'f64' ? new Float64Array(buf, p, c.length) : c.kind === 'f32' ? new Float32Array(buf, p, c.length) : c.kind === 'u32' ? new Uint32Array(buf, p, c.length) : new Int32Array(buf, p, c.length);
    cols[c.name] = a;
    p += a.byteLength + pad8(a.byteLength);
  }
  return { meta: head.meta, cols };
}

/** A CPU of one buffer: its events, losses and (for the first buffer holding sched events) what ran. */
export interface CpuTrackInfo {
  id: string;
  buffer: number;
  cpu: number;
  events: number;
}

export interface ThreadInfo {
  pid: number;
  comm: string;
  runNs: number;
}

/** A thread group; `known` false: the trace does not show the group of these threads (each is listed alone). */
export interface ProcessInfo {
  pid: number;
  comm: string;
  known: boolean;
  threads: ThreadInfo[];
}

export interface LostRange {
  buffer: number;
  cpu: number;
  /** The range the lost events fell in: from the stream's previous record to the one that flagged it. */
  start: number;
  end: number;
  /** -1: the kernel flagged a loss without counting it. */
  count: number;
}

export interface FindingInfo {
  kind: string;
  ts: number;
  message: string;
  uncertain?: string;
  evidence: number[];
}

/** What /api/meta answers: everything but the per-window data. Times are ns since `start`. */
export interface ViewMeta {
  title: string;
  /** Absolute time of the first record (ns); every other time is relative to it. */
  start: number;
  end: number;
  events: number;
  buffers: string[];
  cpuTracks: CpuTrackInfo[];
  processes: ProcessInfo[];
  types: string[];
  counts: Record<string, number>;
  markers: { ts: number; cpu: number; text: string }[];
  masksetSwitches: { ts: number; from: string; to: string }[];
  lost: LostRange[];
  lostTotal: number;
  /** The finest summary bucket (ns) and how many levels of doubling it there are. */
  baseNs: number;
  levels: number;
  /** A window with at most this many events is answered with the events themselves. */
  rawLimit: number;
  warnings: string[];
}

/** Header of a /api/window answer; its columns are named `${track}/${what}`. */
export interface WindowMeta {
  t0: number;
  t1: number;
  px: number;
  /** Summary bucket width used (ns), or 0 when the events themselves were sent. */
  bucketNs: number;
  /** Events in the window over the tracks asked for. */
  events: number;
}

/** One decoded event, as /api/event answers. */
export interface EventDetail {
  ts: number;
  rel: number;
  cpu: number;
  buffer: string;
  pid: number;
  comm: string;
  event: string;
  fields: Record<string, unknown>;
  /** Where to ask for it again: buffer index, CPU, time and the ordinal among records of that time. */
  ref: string;
}

/** The summary level whose bucket is the widest not wider than one pixel (0 when even the finest is wider). */
export function levelFor(spanNs: number, px: number, baseNs: number, levels: number): number {
  const perPx = spanNs / Math.max(1, px);
  let l = 0;
  while (l + 1 < levels && baseNs * 2 ** (l + 1) <= perPx) l++;
  return l;
}

/** Track ids: a buffer's CPU and a thread. */
export const cpuTrackId = (buffer: number, cpu: number) => `cpu:${buffer}:${cpu}`;
export const threadTrackId = (pid: number) => `thread:${pid}`;

/** First position in sorted vals whose value is >= t. */
export function firstAtOrAfter(vals: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = vals.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (vals[m]! < t) lo = m + 1;
    else hi = m;
  }
  return lo;
}
