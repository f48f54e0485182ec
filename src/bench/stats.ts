/** Summary statistics of repeated measurements: robust to the odd slow run. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** First and third quartiles (linear interpolation between order statistics). */
  q1: number;
  q3: number;
  mean: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((v) => Number.isFinite(v));
  const s = [...finite].sort((a, b) => a - b);
  if (!s.length) return { n: 0, median: NaN, min: NaN, max: NaN, q1: NaN, q3: NaN, mean: NaN };
  return {
    n: s.length,
    median: quantile(s, 0.5),
    min: s[0]!,
    max: s[s.length - 1]!,
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/**
 * Overhead of a condition relative to the baseline, in percent, for a metric where higher is worse
 * (time) or better (throughput): positive always means "tracing made it slower".
 */
export function overheadPercent(value: number, baseline: number, higherIsBetter: boolean): number {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0 || value === 0) return NaN;
  return higherIsBetter ? (baseline / value - 1) * 100 : (value / baseline - 1) * 100;
}

/**
 * Whether a condition's runs are within noise of the baseline's: their interquartile ranges overlap,
 * or the medians differ by less than the baseline's own spread (max − min).
 */
export function withinNoise(a: Summary, baseline: Summary): boolean {
  if (!a.n || !baseline.n) return false;
  if (a.q1 <= baseline.q3 && baseline.q1 <= a.q3) return true;
  return Math.abs(a.median - baseline.median) <= baseline.max - baseline.min;
}
