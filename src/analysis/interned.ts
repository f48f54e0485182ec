/**
 * A string field whose values repeat (slab cache names: a few dozen over a trace) read as one
 * shared string per value: a string decoded per event was ~8% of `analyze timers` on a kmem-heavy
 * trace, and each was kept by the heap object it named.
 */
import { arraySpan } from '../events/field-span.js';
import type { Field } from '../events/format.js';
import type { TraceEvent } from './event.js';

export class InternedField {
  /** The last string seen per hash of its bytes; checked byte by byte before it is reused. */
  private readonly seen = new Map<number, string>();

  /** Only NUL-terminated char arrays are read here; other fields as ev.str reads them. */
  private readonly chars: boolean;

  constructor(private readonly field: Field) {
    this.chars = field.arrayLen >= 0 && field.isString;
  }

  /** ev.str(field), as readField gives it (latin1 up to the first NUL), shared between equal values. */
  read(ev: TraceEvent): string {
    if (!this.chars) return ev.str(this.field);
    const b = ev.buf;
    const [start, len] = arraySpan(b, ev.off, ev.len, this.field);
    const at = ev.off + start;
    const end = at + len;
    let e = at;
    let h = 0x811c9dc5;
    for (; e < end && b[e] !== 0; e++) h = Math.imul(h ^ b[e]!, 0x01000193);
    const s = this.seen.get(h);
    if (s !== undefined && s.length === e - at) {
      let i = 0;
      while (i < s.length && s.charCodeAt(i) === b[at + i]) i++;
      if (i === s.length) return s;
    }
    const v = ev.str(this.field);
    if (this.seen.size < 4096) this.seen.set(h, v);
    return v;
  }
}
