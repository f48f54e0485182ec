import { LkstError } from '../base/errors.js';

/** The clocks a trace_clock file offers ("local [global] counter ..."; the bracketed one is in use). */
export function parseClocks(text: string): string[] {
  return text.replace(/[[\]]/g, '').trim().split(/\s+/).filter(Boolean);
}

/** Refuses a clock this kernel lacks, listing those it has (the kernel itself only says EINVAL). */
export function requireClock(name: string, traceClockText: string): void {
  const clocks = parseClocks(traceClockText);
  if (!clocks.includes(name)) throw new LkstError(`this kernel has no trace clock '${name}'`, `use one of: ${clocks.join(' ')}`);
}
