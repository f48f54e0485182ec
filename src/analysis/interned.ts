/**
 * A string field whose values repeat (slab cache names: a few dozen over a trace) read as one
 * shared string per value: a string decoded per event was ~8% of `analyze timers` on a kmem-heavy
 * trace, and each was kept by the heap object it named.
 */
import { arraySpan } from '../events/field-span.js';
import type { Field } from '../events/format.js';
import type { TraceEvent } from './event.js';
import { StringInterner } from '../events/interned-strings.js';

export class InternedField {
  private readonly strings = new StringInterner(4096);

  /** Only NUL-terminated char arrays are read here; other fields as ev.str reads them. */
  private readonly chars: boolean;

  constructor(private readonly field: Field) {
    this.chars = field.arrayLen >= 0 && field.isString;
  }

  /** ev.str(field), as readField gives it (latin1 up to the first NUL), shared between equal values. */
  read(ev: TraceEvent): string {
    if (!this.chars) return ev.str(this.field);
    const [start, len] = arraySpan(ev.buf, ev.off, ev.len, this.field);
    return this.strings.get(ev.buf, ev.off + start, ev.off + start + len);
  }
}
