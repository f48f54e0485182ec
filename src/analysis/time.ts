/** Times on the command line: absolute seconds as trace-cmd prints them, or relative to the trace start. */
import { LkstError } from '../base/errors.js';

const UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, '': 1e9 };

/**
 * "809.394135" (seconds, as `lkst report` shows), "809394135304ns", or "+1.5s" / "+20ms" from
 * the first event. Returns ns.
 */
export function parseTraceTime(text: string, traceStart: number): number {
  const m = /^\s*(\+)?(\d+(?:\.\d+)?)\s*(ns|us|ms|s)?\s*$/.exec(text);
  if (!m) throw new LkstError(`cannot read the time '${text}'`, 'give seconds as in the report (809.394135), a value with a unit (20ms), or +OFFSET from the trace start (+1.5s)');
  const v = Math.round(Number(m[2]) * UNITS[m[3] ?? '']!);
  return m[1] ? traceStart + v : v;
}

/** ns → "809.394135" (seconds with microseconds, as trace-cmd prints). */
export function fmtTs(ns: number): string {
  if (ns < 0) return 'before the trace';
  const s = Math.floor(ns / 1e9);
  const us = Math.floor((ns % 1e9) / 1e3);
  return `${s}.${String(us).padStart(6, '0')}`;
}

/** A duration for people: 12 ns, 3.4 us, 5.67 ms, 1.234 s. */
export function fmtDur(ns: number): string {
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} us`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(3)} s`;
}
