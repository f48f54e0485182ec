/**
 * Event counts of one track per time bucket, at power-of-2 levels (the viewer's "mipmaps"): level 0
 * buckets are baseNs wide, each level above merges pairs. A window of any span is answered from the
 * level whose buckets are about a pixel wide, so its cost follows the pixels, not the events.
 */
export class CountPyramid {
  readonly levels: Uint32Array[] = [];

  /** first: the finest level's counts, when they were kept (a cache). */
  constructor(
    public baseNs: number,
    buckets: number,
    first?: Uint32Array,
  ) {
    this.levels.push(first ?? new Uint32Array(buckets));
  }

  /** Counts one event at t (ns since the trace's start). */
  add(t: number): void {
    const l0 = this.levels[0]!;
    const i = Math.floor(t / this.baseNs);
    l0[i < 0 ? 0 : i >= l0.length ? l0.length - 1 : i]!++;
  }

  /** Doubles the finest buckets' width (merging pairs), for events later than the buckets reach. */
  coarsen(): void {
    const l0 = this.levels[0]!;
    const half = l0.length >> 1;
    for (let i = 0; i < half; i++) l0[i] = l0[2 * i]! + l0[2 * i + 1]!;
    if (l0.length & 1) {
      l0[half] = l0[l0.length - 1]!;
      l0.fill(0, half + 1);
    } else l0.fill(0, half);
    this.baseNs *= 2;
  }

  /** Builds the levels above the first, once every event is counted. */
  finish(): this {
    let below = this.levels[0]!;
    while (below.length > 1) {
      const up = new Uint32Array(Math.ceil(below.length / 2));
      for (let i = 0; i < below.length; i++) up[i >> 1]! += below[i]!;
      this.levels.push(up);
      below = up;
    }
    return this;
  }

  /** Events in [t0, t1), counted by whole buckets of the finest level (an upper bound at the edges). */
  total(t0: number, t1: number): number {
    const l0 = this.levels[0]!;
    const a = Math.max(0, Math.floor(t0 / this.baseNs));
    const b = Math.min(l0.length - 1, Math.floor(t1 / this.baseNs));
    let n = 0;
    // Walk up the levels to add whole aligned runs at once.
    let lo = a;
    let hi = b + 1;
    for (let l = 0; lo < hi && l < this.levels.length; l++) {
      const lv = this.levels[l]!;
      if (lo & 1) n += lv[lo++]!;
      if (hi & 1) n += lv[--hi]!;
      lo >>= 1;
      hi >>= 1;
    }
    return n;
  }

  /** Counts per pixel of a window [t0, t1) drawn px wide, read from the given level. */
  sample(t0: number, t1: number, px: number, level: number): Uint32Array {
    const out = new Uint32Array(px);
    const lv = this.levels[Math.min(level, this.levels.length - 1)]!;
    const w = this.baseNs * 2 ** Math.min(level, this.levels.length - 1);
    const scale = px / (t1 - t0);
    const first = Math.max(0, Math.floor(t0 / w));
    const last = Math.min(lv.length - 1, Math.floor(t1 / w));
    for (let i = first; i <= last; i++) {
      const n = lv[i]!;
      if (!n) continue;
      // The bucket's middle decides its pixel: no bucket is counted twice.
      const x = Math.floor(((i + 0.5) * w - t0) * scale);
      out[x < 0 ? 0 : x >= px ? px - 1 : x]! += n;
    }
    return out;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.levels.reduce((s, l) => s + l.byteLength, 0);
  }
}

