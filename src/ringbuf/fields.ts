import type { EventFormat, Field } from '../events/format.js';
import { arraySpan, cstr } from '../events/field-span.js';

/** A decoded field value: integers as number (bigint beyond 2^53), strings, or arrays of numbers. */
export type FieldValue = number | bigint | string | number[] | bigint[] | Buffer;

/** The event id of a record: its common_type, the first u16 of the data. */
export function recordType(buf: Buffer, dataOff: number): number {
  return buf.readUInt16LE(dataOff);
}

export function readInt(buf: Buffer, at: number, size: number, signed: boolean): number | bigint {
  switch (size) {
    case 1:
      return signed ? buf.readInt8(at) : buf.readUInt8(at);
    case 2:
      return signed ? buf.readInt16LE(at) : buf.readUInt16LE(at);
    case 4:
      return signed ? buf.readInt32LE(at) : buf.readUInt32LE(at);
    case 8: {
      const lo = buf.readUInt32LE(at);
      const hi = signed ? buf.readInt32LE(at + 4) : buf.readUInt32LE(at + 4);
      // Exact as a number while it fits 53 bits; bigint beyond.
      if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + lo;
      return signed ? buf.readBigInt64LE(at) : buf.readBigUInt64LE(at);
    }
    default:
      return 0;
  }
}

/** Decodes one field of the record at dataOff (arrays and strings where events/field-span.ts puts them). */
export function readField(buf: Buffer, dataOff: number, dataLen: number, f: Field): FieldValue {
  if (f.arrayLen >= 0) {
    const [start, len] = arraySpan(buf, dataOff, dataLen, f);
    const at = dataOff + start;
    if (f.isString) return cstr(buf, at, at + len);
    return readArray(buf, at, len, f);
  }
  if (f.offset + f.size > dataLen) return 0;
  return readInt(buf, dataOff + f.offset, f.size, f.signed);
}

function readArray(buf: Buffer, at: number, len: number, f: Field): FieldValue {
  const es = f.elemSize;
  if (![1, 2, 4, 8].includes(es)) return buf.subarray(at, at + len);
  const out: (number | bigint)[] = [];
  for (let p = at; p + es <= at + len; p += es) out.push(readInt(buf, p, es, f.signed));
  return out as number[];
}

/** All fields of a record (not the common ones) by name. */
export function readFields(buf: Buffer, dataOff: number, dataLen: number, fmt: EventFormat): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const f of fmt.fields) out[f.name] = readField(buf, dataOff, dataLen, f);
  return out;
}
