/** A protobuf wire-format reader for the tests: fields of a message by number, independent of the writer. */

export interface ProtoField {
  num: number;
  wire: number;
  /** varint value, or the bytes of a length-delimited field */
  int?: bigint;
  bytes?: Buffer;
}

export function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++]!;
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
    if (shift > 70n) throw new Error('varint too long');
  }
}

export function fields(buf: Buffer): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(buf, p1);
      out.push({ num, wire, int: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, p1);
      const end = p2 + Number(len);
      if (end > buf.length) throw new Error(`field ${num} runs past the message end`);
      out.push({ num, wire, bytes: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) {
      out.push({ num, wire, int: buf.readBigUInt64LE(p1) });
      pos = p1 + 8;
    } else if (wire === 5) {
      out.push({ num, wire, int: BigInt(buf.readUInt32LE(p1)) });
      pos = p1 + 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

export const one = (fs: ProtoField[], num: number) => fs.find((f) => f.num === num);
export const all = (fs: ProtoField[], num: number) => fs.filter((f) => f.num === num);
export const str = (f?: ProtoField) => f?.bytes?.toString('utf8');
/** A varint as a signed 64-bit number (int32/int64 fields). */
export const sint = (f?: ProtoField) => (f?.int === undefined ? undefined : Number(BigInt.asIntN(64, f.int)));
