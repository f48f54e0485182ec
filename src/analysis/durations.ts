/** Count, total, extremes and a power-of-two histogram of durations (ns), in constant memory. */

export interface DurationSummary {
  count: number;
  totalNs: number;
  minNs: number;
  maxNs: number;
  meanNs: number;
  /** Bucket i counts durations in [2^i, 2^(i+1)) ns; bucket 0 also holds 0 and 1 ns. */
  log2Histogram: number[];
  p50Ns: number;
  p99Ns: number;
}

export class Durations {
  count = 0;
  total = 0;
  min = Infinity;
  max = 0;
  readonly buckets = new Array<number>(48).fill(0);

  add(ns: number): void {
    if (!(ns >= 0)) return;
    this.count++;
    this.total += ns;
    if (ns < this.min) this.min = ns;
    if (ns > this.max) this.max = ns;
    // floor(log2(ns)) from the bit length below 2^32 (a million syscalls a storm), exact either way.
    this.buckets[ns < 2 ? 0 : ns < 0x100000000 ? 31 - Math.clz32(ns) : Math.min(47, Math.floor(Math.log2(ns)))]!++;
  }

  /** Upper bound of the bucket holding the q-quantile (a power of two; the max if smaller). */
  quantile(q: number): number {
    if (!this.count) return 0;
    const want = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= want) return Math.min(this.max, 2 ** (i + 1));
    }
    return this.max;
  }

  summary(): DurationSummary {
    let last = this.buckets.length;
    while (last > 0 && this.buckets[last - 1] === 0) last--;
    return {
      count: this.count,
      totalNs: this.total,
      minNs: this.count ? this.min : 0,
      maxNs: this.max,
      meanNs: this.count ? this.total / this.count : 0,
      log2Histogram: this.buckets.slice(0, last),
      p50Ns: this.quantile(0.5),
      p99Ns: this.quantile(0.99),
    };
  }
}

/** Keeps the n largest items by a key, in bounded memory. */
export class TopN<T> {
  private items: { key: number; item: T }[] = [];
  constructor(private readonly n: number) {}

  /** Whether an item with this key would be kept (check before building an expensive item). */
  wants(key: number): boolean {
    return this.items.length < this.n || key > this.items[this.items.length - 1]!.key;
  }

  add(key: number, item: T): void {
    if (!this.wants(key)) return;
    this.items.push({ key, item });
    this.items.sort((a, b) => b.key - a.key);
    if (this.items.length > this.n) this.items.pop();
  }

  values(): T[] {
    return this.items.map((x) => x.item);
  }
}
