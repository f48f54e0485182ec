/** Builds a little-endian byte string piece by piece (trace.dat metadata is small; pages never go through here). */
export class ByteBuilder {
  private parts: Buffer[] = [];
  private len = 0;

  get length(): number {
    return this.len;
  }

  bytes(b: Buffer): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }

  u8(v: number): this {
    return this.bytes(Buffer.from([v & 0xff]));
  }

  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(v);
    return this.bytes(b);
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0);
    return this.bytes(b);
  }

  u64(v: number | bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
    return this.bytes(b);
  }

  /** A NUL-terminated string. */
  cstr(s: string): this {
    return this.bytes(Buffer.from(s + '\0', 'utf8'));
  }

  /** Text without terminator (sizes are written separately). */
  text(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  build(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.len);
  }
}
