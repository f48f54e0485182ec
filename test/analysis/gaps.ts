/** Where a trace lost events, read straight from the stream (apart from the analyses' own LossLog). */
import type { TraceInput } from '../../src/analysis/input.js';
import { forEachEvent } from '../../src/analysis/stream.js';

export interface Gap {
  cpu: number;
  /** The CPU's last record before the loss (-1: none). */
  from: number;
  /** Its first record after. */
  to: number;
  count: number;
}

export function lossGaps(input: TraceInput): Gap[] {
  const last = new Map<number, number>();
  const gaps: Gap[] = [];
  forEachEvent(input, {
    event: (ev) => void last.set(ev.cpu, ev.ts),
    lost: (cpu, to, count) => gaps.push({ cpu, from: last.get(cpu) ?? -1, to, count }),
  });
  return gaps;
}

/** Gaps that hold events lost between t1 and t2 (inclusive). */
export function gapsWithin(gaps: Gap[], t1: number, t2: number, cpu?: number): Gap[] {
  return gaps.filter((g) => g.from < t2 && g.to > t1 && (cpu === undefined || g.cpu === cpu));
}
