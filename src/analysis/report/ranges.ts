/**
 * Time ranges of a trace that threads render apart: the main thread takes them from the front, one
 * after another with one merge, and workers from the back, each range on its own (ranges.md below).
 *
 * When every CPU stream's times only grow, the merged order is the records sorted by (time, input),
 * so the text of [lo, hi) is the text of the records with lo <= time < hi, whoever renders it. A
 * worker's range counts only after the main thread has checked that: the range's streams grew, it
 * started where the range before it ended, and the task names and losses it printed are the ones the
 * records before it would have given. Otherwise the main thread renders the rest itself.
 */
import { Cursor, type MergeInput, type MergeOptions } from '../../ringbuf/merge.js';
import type { CpuStream } from '../../file/cpu-stream.js';
import { CommTable } from '../../events/printfmt/context.js';

/** How many ranges a trace is cut into: small enough that the last one does not keep a thread waiting long. */
export const RANGES = 32;
const SAMPLES = 64;
/** Past this, a time minus one is the same number: no ranges. */
const EXACT = 2 ** 52;

/**
 * Times that cut the streams into about equal amounts of pages (from the page headers of a few
 * pages each), strictly growing; undefined when the streams cannot be cut (no page times, a clock
 * past exact integers).
 */
export function rangeBounds(streams: readonly CpuStream[], tsOffset: number, ranges = RANGES): number[] | undefined {
  const samples: { t: number; w: number }[] = [];
  let total = 0;
  for (const s of streams) {
    if (!s.pageTime || !s.chunksFrom) return undefined;
    const pages = Math.floor(s.size / s.pageSize);
    const n = Math.min(SAMPLES, pages);
    for (let j = 0; j < n; j++) {
      const t = s.pageTime(Math.floor((j * pages) / n)) + tsOffset;
      if (!(Math.abs(t) < EXACT)) return undefined;
      samples.push({ t, w: pages / n });
    }
    total += pages;
  }
  samples.sort((a, b) => a.t - b.t);
  const bounds: number[] = [];
  let cum = 0;
  let k = 1;
  for (const s of samples) {
    while (k < ranges && cum >= (k * total) / ranges) {
      if (!bounds.length || s.t > bounds[bounds.length - 1]!) bounds.push(s.t);
      k++;
    }
    cum += s.w;
  }
  return bounds;
}

/** The range r of bounds as [lo, hi). */
export function rangeOf(bounds: readonly number[], r: number): [number, number] {
  return [r > 0 ? bounds[r - 1]! : -Infinity, r < bounds.length ? bounds[r]! : Infinity];
}

/**
 * Which thread renders which range: one shared word, the next range from the front in its low half
 * and one past the last free range in its high half. The main thread owns range 0 from the start.
 */
export class Claims {
  constructor(readonly word: Int32Array) {}

  static create(): Claims {
    return new Claims(new Int32Array(new SharedArrayBuffer(8)));
  }

  /** Opens ranges 1..count-1 for claiming (and wakes the workers waiting for it). */
  open(count: number): void {
    Atomics.store(this.word, 0, (count << 16) | 1);
    Atomics.store(this.word, 1, 1);
    Atomics.notify(this.word, 1);
  }

  /** Closes claiming: the workers take nothing more (the main thread renders the rest). */
  close(): void {
    this.open(0);
  }

  /** Waits until the ranges are open. */
  waitOpen(): void {
    while (Atomics.load(this.word, 1) === 0) Atomics.wait(this.word, 1, 0, 1000);
  }

  /** The next range from the front, -1 when none is left. */
  front(): number {
    return this.take(true);
  }

  /** The next range from the back, -1 when none is left. */
  back(): number {
    return this.take(false);
  }

  private take(front: boolean): number {
    for (;;) {
      const v = Atomics.load(this.word, 0);
      const f = v & 0xffff;
      const b = v >>> 16;
      if (f >= b) return -1;
      const next = front ? (b << 16) | (f + 1) : ((b - 1) << 16) | f;
      if (Atomics.compareExchange(this.word, 0, v, next) === v) return front ? f : b - 1;
    }
  }
}

/** Where each cursor stands: (page, record, loss shown with it) per input, -1s for a stream at its end. */
export function headsOf(cursors: readonly Cursor[]): number[] {
  const out: number[] = [];
  for (const c of cursors) {
    if (c.i < c.n) out.push(c.position().page, c.i, c.i === 0 ? c.pageMissed : 0);
    else out.push(-1, -1, 0);
  }
  return out;
}

export function sameHeads(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function atEnd(heads: readonly number[]): boolean {
  return heads.every((x, i) => i % 3 === 2 || x === -1);
}

/**
 * Cursors at the first record at or after lo on each stream (found by the page headers' times), the
 * pages read on the way not reported: the range before this one reported them.
 */
export function cursorsAt(streams: readonly CpuStream[], tsOffset: number, lo: number, opts: MergeOptions): Cursor[] {
  let quiet = true;
  const report = opts.onCorruptPage;
  const mergeOpts: MergeOptions = { onCorruptPage: (input, page, message) => (quiet ? undefined : report?.(input, page, message)) };
  const cursors = streams.map((s, i) => {
    const input: MergeInput = { chunks: [], pageSize: s.pageSize, tsOffset, chunksFrom: (p) => s.chunksFrom!(p, true) };
    const c = new Cursor(i, input, s.pageSize, mergeOpts);
    // The last page whose header is before lo (records only grow from their page's header time).
    let first = 0;
    let last = Math.floor(s.size / s.pageSize) - 1;
    while (first < last) {
      const mid = (first + last + 1) >>> 1;
      if (s.pageTime!(mid) + tsOffset < lo) first = mid;
      else last = mid - 1;
    }
    c.seek({ page: first, record: 0, missed: 0, loaded: false });
    for (;;) {
      if (c.i >= c.n && !c.nextPage()) break;
      while (c.i < c.n && c.ts[c.i]! < lo) c.i++;
      if (c.i < c.n) break;
    }
    return c;
  });
  quiet = false;
  return cursors;
}

/**
 * A worker's task names: the file's, and apart, the pids outside them that its records looked up or
 * named (in order, with the name), so the main thread can tell whether the names it printed hold.
 */
export class TrackedComms extends CommTable {
  readonly asked = new Set<number>();
  readonly named: (number | string)[] = [];

  constructor(private readonly saved: ReadonlyMap<number, string>) {
    super(saved);
  }

  private track(pid: number): void {
    if (pid !== 0 && !this.saved.has(pid)) this.asked.add(pid);
  }

  override get(pid: number): string {
    this.track(pid);
    return super.get(pid);
  }

  override has(pid: number): boolean {
    this.track(pid);
    return super.has(pid);
  }

  override register(pid: number, comm: string): void {
    this.track(pid);
    if (pid !== 0 && !super.has(pid)) this.named.push(pid, comm);
    super.register(pid, comm);
  }
}

/** What a worker sends for one range it rendered. */
export interface RangeResult {
  /** The range index (named input for the shared receive). */
  input: number;
  text: ArrayBuffer;
  length: number;
  start: number[];
  end: number[];
  /** Every stream's times grew within the range. */
  grew: boolean;
  records: number;
  printed: number;
  /** Losses the range showed: input, count, ... */
  places: number[];
  /** The last time seen per input (NaN: none). */
  lastTs: number[];
  /** Damaged pages: input, page, message, ... */
  corrupt: (number | string)[];
  asked: number[];
  named: (number | string)[];
  /** Its text depends on records before the range (function tracer events). */
  history: boolean;
}
