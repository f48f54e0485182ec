import type { EventFormat, Field } from '../events/format.js';

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

/** Where a dynamic (__data_loc/__rel_loc) field's bytes are: [start, length], or undefined if out of the record. */
export function dynamicSpan(buf: Buffer, dataOff: number, dataLen: number, f: Field): [number, number] | undefined {
  const word = buf.readUInt32LE(dataOff + f.offset);
  let start = word & 0xffff;
  const len = word >>> 16;
  if (f.dynamic === 'rel_loc') start += f.offset + f.size;
  if (start + len > dataLen) return undefined;
  return [dataOff + start, len];
}

function cString(buf: Buffer, start: number, maxLen: number): string {
  let end = start;
  const stop = start + maxLen;
  while (end < stop && buf[end] !== 0) end++;
  return buf.toString('latin1', start, end);
}

/** Decodes one field of the record at dataOff. */
export function readField(buf: Buffer, dataOff: number, dataLen: number, f: Field): FieldValue {
  if (f.dynamic !== 'none') {
    const span = dynamicSpan(buf, dataOff, dataLen, f);
    if (!span) return '';
    if (f.isString) return cString(buf, span[0], span[1]);
    return readArray(buf, span[0], span[1], f);
  }
  if (f.offset + f.size > dataLen) return 0;
  const at = dataOff + f.offset;
  if (f.arrayLen >= 0) {
    // An unsized array (char buf[]) runs to the end of the record.
    const len = f.arrayLen === 0 ? dataLen - f.offset : f.size;
    if (f.isString) return cString(buf, at, len);
    return readArray(buf, at, len, f);
  }
  return readInt(buf, at, f.size, f.signed);
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
