/** An event's fields as a JSON object text, built per format once and filled per record. */
import type { EventFormat, Field } from '../../events/format.js';
import { arraySpan, cstr } from '../../events/field-span.js';
import { readNum, toU64 } from '../../events/printfmt/num.js';

type FieldJson = (b: Buffer, off: number, len: number) => string;

function intJson(f: Field, at: number, b: Buffer): string {
  const v = readNum(b, at, f.elemSize);
  if (f.isPointer) return '"0x' + toU64(v).toString(16) + '"';
  const n = f.signed ? BigInt.asIntN(f.elemSize * 8, BigInt(v)) : toU64(v);
  const small = n >= -9007199254740991n && n <= 9007199254740991n;
  return small ? n.toString() : '"' + n.toString() + '"';
}

function fieldJson(f: Field): FieldJson {
  const isText = f.arrayLen >= 0 && /char/.test(f.type);
  if (isText) {
    return (b, o, l) => {
      const [start, n] = arraySpan(b, o, l, f);
      return JSON.stringify(cstr(b, o + start, o + start + n));
    };
  }
  if (f.arrayLen >= 0) {
    const es = [1, 2, 4, 8].includes(f.elemSize) ? f.elemSize : 1;
    const ef: Field = { ...f, elemSize: es };
    return (b, o, l) => {
      const [start, n] = arraySpan(b, o, l, f);
      const parts: string[] = [];
      for (let p = start; p + es <= start + n; p += es) parts.push(intJson(ef, o + p, b));
      return '[' + parts.join(',') + ']';
    };
  }
  if (![1, 2, 4, 8].includes(f.size)) return () => 'null';
  const ef: Field = { ...f, elemSize: f.size };
  return (b, o, l) => (f.offset + f.size > l ? 'null' : intJson(ef, o + f.offset, b));
}

/** `{"field":value,...}` of the event's own (non-common) fields. */
export function compileFieldsJson(fmt: EventFormat): FieldJson {
  const parts = fmt.fields.map((f) => ({ key: JSON.stringify(f.name) + ':', val: fieldJson(f) }));
  return (b, o, l) => {
    let s = '{';
    for (let i = 0; i < parts.length; i++) s += (i ? ',' : '') + parts[i]!.key + parts[i]!.val(b, o, l);
    return s + '}';
  };
}
