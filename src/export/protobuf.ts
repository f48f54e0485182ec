/** A minimal protobuf encoder (varints, length-delimited fields, nested messages) into a growing buffer. */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

export class ProtoWriter {
  buf: Buffer;
  len = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** An unsigned varint; numbers up to 2^53, bigints up to 2^64. Negative int64 as two's complement. */
  varint(v: number | bigint): this {
    this.ensure(10);
    if (typeof v === 'number' && v >= 0 && v < 0x80000000) {
      let x = v;
      while (x > 0x7f) {
        this.buf[this.len++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      this.buf[this.len++] = x;
      return this;
    }
    if (typeof v === 'number' && v > 0 && Number.isSafeInteger(v)) {
      // Timestamps and addresses below 2^53: arithmetic, no bigint.
      let x = v;
      while (x >= 0x80) {
        this.buf[this.len++] = (x % 0x80) | 0x80;
        x = Math.floor(x / 0x80);
      }
      this.buf[this.len++] = x;
      return this;
    }
    let b = BigInt.asUintN(64, BigInt(v));
    while (b > 0x7fn) {
      this.buf[this.len++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.len++] = Number(b);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  /** An integer field (int32/int64/uint32/uint64/bool/enum). */
  int(field: number, v: number | bigint | boolean): this {
    return this.tag(field, WIRE_VARINT).varint(typeof v === 'boolean' ? (v ? 1 : 0) : v);
  }

  bytes(field: number, data: Uint8Array, start = 0, end = data.length): this {
    this.tag(field, WIRE_LEN).varint(end - start);
    this.ensure(end - start);
    this.buf.set(data.subarray(start, end), this.len);
    this.len += end - start;
    return this;
  }

  /** Bytes as they are (e.g. a message body after its length prefix). */
  raw(data: Uint8Array): this {
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** A nested message written by fill into a scratch writer, then copied with its length. */
  message(field: number, fill: (w: ProtoWriter) => void, scratch = new ProtoWriter()): this {
    scratch.len = 0;
    fill(scratch);
    return this.bytes(field, scratch.buf, 0, scratch.len);
  }

  /** The bytes written so far (a view; copy it before writing more). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  reset(): void {
    this.len = 0;
  }
}
