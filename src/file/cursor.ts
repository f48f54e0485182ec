import { isAscii } from 'node:buffer';
import { LkstError } from '../base/errors.js';
import { shownText } from '../base/text.js';
import type { ByteSource } from './source.js';

/** A file whose structure is broken: where (detail), and what to do. */
export class CorruptFileError extends LkstError {
  constructor(
    path: string,
    readonly detail: string,
  ) {
    super(`${shownText(path)} is not a valid trace.dat file (${shownText(detail)})`, 'it is damaged or cut off; record it again or check it with trace-cmd dump');
  }
}

export function corruptFile(path: string, detail: string): CorruptFileError {
  return new CorruptFileError(path, detail);
}

const MAX_NAME = 4096;

/**
 * Reads little-endian values in sequence from a byte source, checking every size against what
 * is left before reading or allocating, so a corrupt length fails clearly instead of eating memory.
 */
export class Cursor {
  constructor(
    private readonly src: ByteSource,
    public pos: number,
    private readonly end: number,
    private readonly path: string,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(detail: string): CorruptFileError {
    return corruptFile(this.path, `${this.what}: ${detail}`);
  }

  bytes(len: number, name = 'data'): Buffer {
    if (!Number.isSafeInteger(len) || len < 0 || len > this.remaining) {
      if (this.remaining < 0) throw this.fail(`${name} at offset ${this.pos} lies beyond the end at ${this.end}`);
      throw this.fail(`${name} of ${len} bytes at offset ${this.pos} runs past the end (${this.remaining} bytes left)`);
    }
    const b = this.src.read(this.pos, len);
    this.pos += len;
    return b;
  }

  skip(len: number, name = 'data'): void {
    if (!Number.isSafeInteger(len) || len < 0 || len > this.remaining) throw this.fail(`${name} of ${len} bytes runs past the end`);
    this.pos += len;
  }

  u8(name?: string): number {
    return this.bytes(1, name)[0]!;
  }
  u16(name?: string): number {
    return this.bytes(2, name).readUInt16LE(0);
  }
  u32(name?: string): number {
    return this.bytes(4, name).readUInt32LE(0);
  }
  /** A u64 that must fit a JS number (offsets and sizes). */
  u64(name = 'size'): number {
    const v = this.bytes(8, name).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`${name} ${v} is impossibly large`);
    return Number(v);
  }

  /** A NUL-terminated string of at most max bytes. */
  cstr(name = 'string', max = MAX_NAME): string {
    const limit = Math.min(max + 1, this.remaining);
    let got = 0;
    const parts: Buffer[] = [];
    while (got < limit) {
      const chunk = this.src.read(this.pos + got, Math.min(256, limit - got));
      const z = chunk.indexOf(0);
      if (z >= 0) {
        parts.push(chunk.subarray(0, z));
        const s = Buffer.concat(parts).toString('utf8');
        this.pos += got + z + 1;
        return s;
      }
      parts.push(chunk);
      got += chunk.length;
    }
    throw this.fail(`${name} at offset ${this.pos} has no terminating NUL`);
  }

  /**
   * Line-based text (cmdlines, kallsyms, printk formats) of a size that precedes it. With warnings
   * (a v7 section, whose end is known), a size past the end reads what is there, whole lines only,
   * with a warning; the parsers take any whole lines. Without, it is refused.
   */
  linesUpTo(sizeBytes: 4 | 8, name: string, warnings: string[] | undefined): string {
    return textOf(this.lineBytesUpTo(sizeBytes, name, warnings));
  }

  /** The same as bytes (UTF-8), for text that is parsed without being made a string. */
  lineBytesUpTo(sizeBytes: 4 | 8, name: string, warnings: string[] | undefined): Buffer {
    const len = sizeBytes === 4 ? this.u32(`${name} size`) : this.u64(`${name} size`);
    if (len <= this.remaining || !warnings) return this.bytes(len, name);
    const bytes = this.bytes(Math.max(0, this.remaining), name);
    warnings.push(`the ${name} claim ${len} bytes where ${textOf(bytes).length} are left; read their whole lines`);
    return bytes.subarray(0, bytes.lastIndexOf(10) + 1);
  }

  /** Text of a size that precedes it as a u32 or u64. */
  sizedText(sizeBytes: 4 | 8, name: string): string {
    const len = sizeBytes === 4 ? this.u32(`${name} size`) : this.u64(`${name} size`);
    return textOf(this.bytes(len, name));
  }
}

/** UTF-8 bytes as a string; ASCII (nearly always) takes Node's fast path, ten times quicker on megabytes. */
export function textOf(b: Buffer): string {
  return isAscii(b) ? b.toString('ascii') : b.toString('utf8');
}
