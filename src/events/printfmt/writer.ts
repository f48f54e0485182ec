/**
 * A byte writer for rendered text (one byte per character, latin1 as the trace's bytes): numbers
 * and record strings go straight into one reused buffer, without making strings on the way.
 */

const DIGIT_CODES = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** The two decimal digits of 0..99 and the two hex digits of 0..255, a pair per value: half the divisions. */
const DEC2 = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));
const HEX2 = Uint8Array.from({ length: 512 }, (_, i) => DIGIT_CODES[i & 1 ? (i >> 1) & 15 : i >> 5]!);

/** A string's latin1 bytes, for text written again and again. */
export function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

export class TextWriter {
  buf: Buffer;
  pos = 0;
  /** Bytes no longer in buf (handed on or taken): total is these and pos, so writes count nothing more. */
  private handedOn = 0;

  /** Bytes written in all (flushed or not). */
  get total(): number {
    return this.handedOn + this.pos;
  }

  /**
   * With flushTo, full buffers are handed to it (keeping the last byte back); without, the buffer
   * grows. reuse: flushTo is done with a chunk when it returns (a synchronous write), so the same
   * buffer is filled again.
   */
  constructor(
    size = 1 << 20,
    private readonly flushTo?: (chunk: Buffer) => void,
    private readonly reuse = false,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private fresh(): Buffer {
    return this.reuse ? this.buf : Buffer.allocUnsafe(this.buf.length);
  }

  /** Makes room for w bytes at the output position and moves past them; returns where they start. */
  private reserve(w: number): number {
    this.need(w);
    const start = this.pos;
    this.pos = start + w;
    return start;
  }

  need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.flushTo && this.pos > 1) {
      // The last byte stays: a line's trailing newline may still be taken back.
      const last = this.buf[this.pos - 1]!;
      this.flushTo(this.buf.subarray(0, this.pos - 1));
      this.handedOn += this.pos - 1;
      this.buf = this.fresh();
      this.buf[0] = last;
      this.pos = 1;
    }
    if (this.pos + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
  }

  /** Hands everything written so far to the flush target. */
  flush(): void {
    if (this.flushTo && this.pos) {
      this.flushTo(this.buf.subarray(0, this.pos));
      this.handedOn += this.pos;
      this.buf = this.fresh();
      this.pos = 0;
    }
  }

  /** Text rendered elsewhere, after what was written here: handed on as it is when there is a flush target. */
  chunk(b: Buffer): void {
    if (!this.flushTo) {
      this.bytes(b);
      return;
    }
    this.flush();
    if (b.length) this.flushTo(b);
    this.handedOn += b.length;
  }

  /** The text written so far (string mode), and a fresh start. */
  take(): string {
    const s = this.buf.toString('latin1', 0, this.pos);
    this.handedOn += this.pos;
    this.pos = 0;
    return s;
  }

  str(s: string): void {
    const n = s.length;
    this.need(n);
    const b = this.buf;
    let p = this.pos;
    if (n < 48) for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    else p += b.write(s, p, "latin1");
    this.pos = p;
  }

  /** Bytes prepared beforehand (see latin1Bytes). */
  bytes(u: Uint8Array): void {
    const n = u.length;
    this.need(n);
    const b = this.buf;
    let p = this.pos;
    // A typed-array copy costs about as much as a 12-byte loop (measured on Node 20).
    if (n < 16) for (let i = 0; i < n; i++) b[p++] = u[i]!;
    else {
      b.set(u, p);
      p += n;
    }
    this.pos = p;
  }

  ch(c: number): void {
    this.need(1);
    this.buf[this.pos++] = c;
  }

  /** Bytes of b[start, end) up to a NUL, as a C string. Returns how many were copied. */
  cstr(b: Buffer, start: number, end: number): number {
    let e = start;
    while (e < end && b[e] !== 0) e++;
    const n = e - start;
    this.need(n);
    if (n < 32) {
      const o = this.buf;
      let p = this.pos;
      for (let i = start; i < e; i++) o[p++] = b[i]!;
    } else b.copy(this.buf, this.pos, start, e);
    this.pos += n;
    return n;
  }

  /** The digits of a non-negative safe integer in base 10 or 16, left-padded to width with pad. */
  uint(n: number, radix: number, width = 0, pad = 48): void {
    if (n <= 0xffffffff) {
      let len = 1;
      if (radix === 16) {
        for (let x = n >>> 4; x; x >>>= 4) len++;
      } else if (n >= 10) {
        len = n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
      }
      const w = len > width ? len : width;
      const start = this.reserve(w);
      let p = start + w;
      const buf = this.buf;
      if (radix === 16) {
        let x = n >>> 0;
        for (; x > 0xff; x >>>= 8) {
          const r = (x & 0xff) << 1;
          buf[--p] = HEX2[r + 1]!;
          buf[--p] = HEX2[r]!;
        }
        if (x > 0xf) {
          buf[--p] = HEX2[(x << 1) + 1]!;
          buf[--p] = HEX2[x << 1]!;
        } else buf[--p] = DIGIT_CODES[x]!;
      } else if (n < 0x80000000) {
        let x = n | 0;
        while (x >= 100) {
          const q = (x / 100) | 0;
          const r = (x - q * 100) << 1;
          buf[--p] = DEC2[r + 1]!;
          buf[--p] = DEC2[r]!;
          x = q;
        }
        if (x >= 10) {
          buf[--p] = DEC2[(x << 1) + 1]!;
          buf[--p] = DEC2[x << 1]!;
        } else buf[--p] = 48 + x;
      } else {
        let x = n;
        do {
          const q = Math.floor(x / 10);
          buf[--p] = 48 + x - q * 10;
          x = q;
        } while (x);
      }
      while (p > start) buf[--p] = pad;
      return;
    }
    if (radix === 16) {
      const hi = Math.floor(n / 0x100000000);
      this.hex64(hi, n - hi * 0x100000000, width, pad);
      return;
    }
    let len = 1;
    for (let x = n; x >= radix; x = Math.floor(x / radix)) len++;
    const w = len > width ? len : width;
    const start = this.reserve(w);
    let p = start + w;
    const buf = this.buf;
    let x = n;
    do {
      const q = Math.floor(x / radix);
      buf[--p] = DIGIT_CODES[x - q * radix]!;
      x = q;
    } while (x);
    while (p > start) buf[--p] = pad;
  }

  /** Hex of the 64-bit value hi:lo (two unsigned 32-bit halves), left-padded to width. */
  hex64(hi: number, lo: number, width = 0, pad = 48): void {
    if (!hi) {
      this.uint(lo, 16, width, pad);
      return;
    }
    let len = 9;
    for (let x = hi >>> 4; x; x >>>= 4) len++;
    const w = len > width ? len : width;
    const start = this.reserve(w);
    let p = start + w;
    const buf = this.buf;
    let x = lo >>> 0;
    for (let i = 0; i < 4; i++) {
      const r = (x & 0xff) << 1;
      buf[--p] = HEX2[r + 1]!;
      buf[--p] = HEX2[r]!;
      x >>>= 8;
    }
    x = hi >>> 0;
    do {
      buf[--p] = DIGIT_CODES[x & 15]!;
      x >>>= 4;
    } while (x);
    while (p > start) buf[--p] = pad;
  }

  /** A signed safe integer in decimal. */
  int(n: number): void {
    if (n < 0) {
      this.ch(45);
      this.uint(-n, 10);
    } else this.uint(n, 10);
  }
}
