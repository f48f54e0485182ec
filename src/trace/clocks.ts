/**
 * Buffers on different trace clocks. Each buffer stamps its records with its own clock (an
 * instance's trace_clock); a merge by raw timestamp (trace-cmd's) puts two clocks on one axis as if
 * they were one. The axis here is the first buffer's: a buffer on the same clock is on it as it is;
 * one whose offset to the first was measured (sync markers, buffers/clock-sync.ts) is shifted by
 * it, within its uncertainty; any other is not comparable, and nothing of it is placed against
 * the others' times. Counter clocks count ticks, not ns: never converted, never comparable.
 */
import type { TraceBuffer } from './model.js';
import { grouped } from '../base/grouped.js';

/** What to add to a buffer's times to put them on the first buffer's clock. */
export interface ClockOffset {
  ns: number;
  /** The true offset lies within ns ± uncertaintyNs. */
  uncertaintyNs: number;
  /** How it was found ("sync markers at start and end"). */
  how: string;
}

/** trace_clock entries that count something other than ns (kernel/trace/trace.c trace_clocks[], in_ns 0). */
const COUNTER_CLOCKS = new Set(['counter', 'uptime', 'x86-tsc']);

export function isCounterClock(clock: string): boolean {
  return COUNTER_CLOCKS.has(clock);
}

/** How one buffer's times stand against the first buffer's. */
export type ClockAlignment =
  | { buffer: string; clock: string; comparable: true; shiftNs: number; uncertaintyNs: number; how: string }
  | { buffer: string; clock: string; comparable: false; why: string };

type ClockedBuffer = Pick<TraceBuffer, 'name' | 'clock' | 'clockOffset'>;

/** Each buffer against the first: shifted by its offset, as it is (same clock), or not comparable (why). */
export function alignClocks(buffers: readonly ClockedBuffer[]): ClockAlignment[] {
  const ref = buffers[0];
  return buffers.map((b): ClockAlignment => {
    if (!ref || b === ref || b.clock === ref.clock)
      return { buffer: b.name, clock: b.clock, comparable: true, shiftNs: 0, uncertaintyNs: 0, how: b === ref ? 'the reference' : 'the same clock' };
    const counter = [b, ref].find((x) => isCounterClock(x.clock));
    const refName = ref.name ? `buffer ${ref.name}'s` : "the top-level buffer's";
    if (counter)
      return {
        buffer: b.name,
        clock: b.clock,
        comparable: false,
        why: `its clock ${b.clock} is not comparable with ${refName} ${ref.clock} (${counter.clock} counts ticks, not ns; lkst never converts it)`,
      };
    // Offsets are stored against the trace's first buffer: two of them give one against the other.
    const own = b.clockOffset;
    const base = ref.clockOffset;
    if (own && base) return { buffer: b.name, clock: b.clock, comparable: true, shiftNs: own.ns - base.ns, uncertaintyNs: own.uncertaintyNs + base.uncertaintyNs, how: own.how };
    return { buffer: b.name, clock: b.clock, comparable: false, why: `its clock ${b.clock} is not comparable with ${refName} ${ref.clock}` };
  });
}

/** The one-line note for a command that merges by raw timestamp (report, as trace-cmd does): undefined when all share a clock. */
export function rawMergeNote(buffers: readonly ClockedBuffer[]): string | undefined {
  const clocks = new Set(buffers.map((b) => b.clock));
  if (clocks.size < 2) return undefined;
  const list = buffers.map((b) => `${b.name || 'top'} ${b.clock}`).join(', ');
  return `buffers on different clocks (${list}): lines are merged by raw timestamp, as trace-cmd does, so times of different buffers do not compare (lkst stats shows the offsets)`;
}

/** How one buffer's clock stands, in words, for stats: "mono, +1.234567 s ± 3 us to top (sync markers ...)". */
export function describeAlignment(a: ClockAlignment, refName: string): string {
  if (!a.comparable) return `${a.clock}, not comparable: ${a.why}`;
  if (a.how === 'the reference') return `${a.clock} (the reference)`;
  if (a.how === 'the same clock') return `${a.clock} (the same clock as ${refName})`;
  return `${a.clock}, ${a.shiftNs >= 0 ? '+' : '-'}${grouped(Math.abs(a.shiftNs))} ns ± ${grouped(a.uncertaintyNs)} ns to ${refName} (${a.how})`;
}

/**
 * A buffer's offset from ranges it is known to lie in, one per sync (start, end): a sync marker
 * stamped between two stamps of the other clock bounds it on both sides. Several ranges (they
 * move with the drift between the clocks) give their midpoint, uncertain by the whole spread.
 */
export function offsetFromRanges(ranges: readonly { lo: number; hi: number }[], how: string): ClockOffset | undefined {
  if (!ranges.length) return undefined;
  const lo = Math.min(...ranges.map((r) => r.lo));
  const hi = Math.max(...ranges.map((r) => r.hi));
  if (hi < lo) return undefined;
  const ns = Math.round((lo + hi) / 2);
  return { ns, uncertaintyNs: Math.max(ns - lo, hi - ns), how };
}
