/** lkst's LKST_CLOCKS option: each buffer's measured offset to the recording's main buffer (trace/clocks.ts). */
import type { ClockOffset } from '../trace/clocks.js';
import type { TraceBuffer } from '../trace/model.js';

export interface StoredClockOffsets {
  /** The buffer the offsets are to. */
  reference: string;
  offsets: Map<string, ClockOffset>;
}

/** The option's JSON; undefined (with a warning) when it does not parse. */
export function parseClockOffsets(text: string, warnings: string[]): StoredClockOffsets | undefined {
  try {
    const o = JSON.parse(text) as { reference?: unknown; offsets?: Record<string, unknown> };
    if (typeof o.reference !== 'string' || typeof o.offsets !== 'object' || !o.offsets) throw new Error('no reference or offsets');
    const offsets = new Map<string, ClockOffset>();
    for (const [name, v] of Object.entries(o.offsets)) {
      const c = v as Partial<ClockOffset>;
      if (!Number.isFinite(c.ns) || !Number.isFinite(c.uncertaintyNs) || c.uncertaintyNs! < 0 || typeof c.how !== 'string') throw new Error(`buffer ${name}'s offset is malformed`);
      offsets.set(name, { ns: c.ns!, uncertaintyNs: c.uncertaintyNs!, how: c.how });
    }
    return { reference: o.reference, offsets };
  } catch (err) {
    warnings.push(`the clock offsets option does not parse (${(err as Error).message}); buffers on different clocks are taken as not comparable`);
    return undefined;
  }
}

/**
 * Sets each buffer's clockOffset against the first of `buffers` (the trace's first): the stored
 * offsets are to the reference buffer, a buffer on its clock is at zero, any other stays unknown.
 */
export function applyClockOffsets(buffers: readonly TraceBuffer[], stored: StoredClockOffsets): void {
  const ref = buffers.find((b) => b.name === stored.reference);
  if (!ref) return;
  const toRef = (b: TraceBuffer): ClockOffset | undefined =>
    b === ref
      ? { ns: 0, uncertaintyNs: 0, how: 'the reference' }
      : (stored.offsets.get(b.name) ?? (b.clock === ref.clock ? { ns: 0, uncertaintyNs: 0, how: 'the same clock' } : undefined));
  const first = buffers[0] && toRef(buffers[0]);
  if (!first) return;
  for (const b of buffers) {
    const o = toRef(b);
    if (o)
      b.clockOffset =
        b === buffers[0] ? { ns: 0, uncertaintyNs: 0, how: 'the reference' } : { ns: o.ns - first.ns, uncertaintyNs: o.uncertaintyNs + first.uncertaintyNs, how: o.how };
  }
}
