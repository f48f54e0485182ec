/**
 * Drawing helpers of the viewer that need no browser: the viewport's time <-> pixel mapping, zoom
 * and pan, axis steps, time labels, colours and label layout. Unit-tested in Node.
 */
import { firstAtOrAfter } from '../schema.js';

/** The visible time window [t0, t1] (ns since the trace's start) drawn from pixel x0 to x0 + width. */
export class Viewport {
  constructor(
    public t0: number,
    public t1: number,
    public x0: number,
    public width: number,
  ) {}

  get span(): number {
    return this.t1 - this.t0;
  }

  x(t: number): number {
    return this.x0 + ((t - this.t0) / this.span) * this.width;
  }

  t(x: number): number {
    return this.t0 + ((x - this.x0) / this.width) * this.span;
  }

  /** Zooms by factor (< 1 in) keeping the time under pixel x where it is. */
  zoom(factor: number, x: number): void {
    const at = this.t(x);
    this.t0 = at - (at - this.t0) * factor;
    this.t1 = at + (this.t1 - at) * factor;
  }

  /** Moves by a fraction of the span (> 0 later). */
  pan(fraction: number): void {
    const d = this.span * fraction;
    this.t0 += d;
    this.t1 += d;
  }

  /** Keeps the window within the trace (with a margin) and no narrower than minSpan. */
  clamp(end: number, minSpan = 1000): void {
    const full = Math.max(1, end);
    let span = Math.max(minSpan, this.span);
    const margin = full * 0.02;
    if (span >= full + 2 * margin) {
      this.t0 = -margin;
      this.t1 = full + margin;
      return;
    }
    span = Math.min(span, full + 2 * margin);
    let t0 = Math.min(Math.max(this.t0, -margin), full + margin - span);
    if (!Number.isFinite(t0)) t0 = -margin;
    this.t0 = t0;
    this.t1 = t0 + span;
  }
}

/** An axis step of 1, 2 or 5 x 10^n ns putting ticks about minPx pixels apart. */
export function niceStep(spanNs: number, px: number, minPx = 90): number {
  const raw = spanNs / Math.max(1, px / minPx);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** A duration with the unit that suits it. */
export function fmtTime(ns: number): string {
  const a = Math.abs(ns);
  if (a < 1e3) return `${ns.toFixed(0)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toFixed(a < 1e4 ? 2 : 1)} us`;
  if (a < 1e9) return `${(ns / 1e6).toFixed(a < 1e7 ? 3 : 2)} ms`;
  return `${(ns / 1e9).toFixed(4)} s`;
}

/** A task's colour: the same pid always gets the same hue; the idle task is grey. */
export function colorOf(pid: number): string {
  if (pid === 0) return '#cfd8dc';
  const hue = ((pid * 2654435761) >>> 0) % 360;
  return `hsl(${hue},55%,55%)`;
}

/** Black or white text, whichever reads on the task's colour (hsl lightness 55%: dark text). */
export function textOn(pid: number): string {
  return pid === 0 ? '#455a64' : '#102027';
}

/**
 * Lays out labels at pixel positions (sorted) on a few lines: a label goes on the first line whose
 * last label ends before it, or is dropped. Returns each label's line, -1 when it did not fit.
 */
export function layoutLabels(xs: readonly number[], widths: readonly number[], lines: number, gap = 4): number[] {
  const ends = new Array<number>(lines).fill(-Infinity);
  return xs.map((x, i) => {
    for (let l = 0; l < lines; l++) {
      if (x >= ends[l]! + gap) {
        ends[l] = x + widths[i]!;
        return l;
      }
    }
    return -1;
  });
}

/** Text cut to fit maxPx at charPx per character, with an ellipsis; '' when not even one character fits. */
export function fitText(text: string, maxPx: number, charPx = 6.5): string {
  const n = Math.floor(maxPx / charPx);
  if (n >= text.length) return text;
  if (n < 2) return '';
  return `${text.slice(0, n - 1)}…`;
}

/** Bar height of a bucket's event count on a log scale (1 event is visible, max fills h). */
export function densityHeight(count: number, max: number, h: number): number {
  if (count <= 0 || max <= 0) return 0;
  return Math.max(1, (Math.log1p(count) / Math.log1p(max)) * h);
}

/** The index in sorted ts nearest to t, if within tol; else -1. */
export function nearest(ts: ArrayLike<number>, t: number, tol: number): number {
  const lo = firstAtOrAfter(ts, t);
  let best = -1;
  let bestD = tol;
  for (const i of [lo - 1, lo]) {
    if (i < 0 || i >= ts.length) continue;
    const d = Math.abs(ts[i]! - t);
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
