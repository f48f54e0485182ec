/**
 * Intervals of the viewer (a task running on a CPU, an interrupt handler) in growing typed columns,
 * indexed by track after the pass, and cut down to what a window can show: at most one interval per
 * pixel, found by binary search, so a window costs about its pixels whatever the trace's length.
 */

/** A typed column that grows as values are pushed. */
export class Grow<T extends Float64Array | Int32Array> {
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
export const growF64 = () => new Grow(new Float64Array(1024), (n) => new Float64Array(n));
export const growI32 = () => new Grow(new Int32Array(1024), (n) => new Int32Array(n));

/** Positions of items grouped by key, each group in the items' order. */
export function groupBy(keys: Int32Array): Map<number, Int32Array> {
  const counts = new Map<number, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  const out = new Map<number, Int32Array>();
  const fill = new Map<number, number>();
  for (const [k, m] of counts) {
    out.set(k, new Int32Array(m));
    fill.set(k, 0);
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const f = fill.get(k)!;
    out.get(k)![f] = i;
    fill.set(k, f + 1);
  }
  return out;
}

/** First position in idx whose value (vals[idx[pos]]) is >= t. */
export function lowerBound(idx: Int32Array, vals: Float64Array, t: number): number {
  let lo = 0;
  let hi = idx.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (vals[idx[m]!]! < t) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Intervals with a value each (pid, CPU, name index), growing during the pass. */
export class IntervalColumns {
  readonly start = growF64();
  readonly end = growF64();
  readonly key = growI32();
  readonly value = growI32();
  push(start: number, end: number, key: number, value: number): void {
    this.start.push(start);
    this.end.push(end);
    this.key.push(key);
    this.value.push(value);
  }
  /** Freezes the columns and indexes them by key (and by value when asked). */
  seal(byValue = false): Intervals {
    return new Intervals(this.start.view, this.end.view, this.key.view, this.value.view, byValue);
  }
}

export interface IntervalsOut {
  start: Float64Array;
  end: Float64Array;
  value: Int32Array;
}

export class Intervals {
  readonly byKey: Map<number, Int32Array>;
  readonly byValue?: Map<number, Int32Array>;
  constructor(
    readonly start: Float64Array,
    readonly end: Float64Array,
    readonly key: Int32Array,
    readonly value: Int32Array,
    byValue: boolean,
  ) {
    this.byKey = groupBy(key);
    if (byValue) this.byValue = groupBy(value);
  }

  get length(): number {
    return this.start.length;
  }

  /**
   * The intervals of one group (items in start order, not overlapping) meeting [t0, t1], clipped to
   * it, at most one starting per pixel: an interval narrower than a pixel stands for the rest of its pixel.
   */
  window(idx: Int32Array | undefined, t0: number, t1: number, px: number, out: (s: number, e: number, i: number) => void): void {
    if (!idx) return;
    const perPx = (t1 - t0) / Math.max(1, px);
    let pos = lowerBound(idx, this.end, t0);
    while (pos < idx.length) {
      const i = idx[pos]!;
      const s = this.start[i]!;
      if (s > t1) break;
      const e = this.end[i]!;
      out(Math.max(s, t0), Math.min(e, t1), i);
      if (e - s < perPx) {
        const next = t0 + (Math.floor((s - t0) / perPx) + 1) * perPx;
        pos = Math.max(pos + 1, lowerBound(idx, this.start, next));
      } else pos++;
    }
  }

  /** window() as columns. */
  windowColumns(idx: Int32Array | undefined, t0: number, t1: number, px: number, valueFor: (i: number) => number = (i) => this.value[i]!): IntervalsOut {
    const s = growF64();
    const e = growF64();
    const v = growI32();
    this.window(idx, t0, t1, px, (a, b, i) => {
      s.push(a);
      e.push(b);
      v.push(valueFor(i));
    });
    return { start: s.view, end: e.view, value: v.view };
  }

  get bytes(): number {
    return this.start.byteLength * 2 + this.key.byteLength * 2 + this.length * 8;
  }
}
