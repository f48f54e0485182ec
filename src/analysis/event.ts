/** One decoded record as the analyses see it: time, CPU, task, event, and field access. */
import type { EventFormat, Field } from '../events/format.js';
import { readField, readInt, type FieldValue } from '../ringbuf/fields.js';

const COMMON_PID_OFFSET = 4;

/**
 * A view of the record under the cursor. The stream reuses one instance for every record: read
 * what you need inside the callback, or keep a copy (snapshot()).
 */
export class TraceEvent {
  ts = 0;
  cpu = 0;
  /** The buffer (tracefs instance) it was recorded in; "" for the top-level buffer. */
  buffer = '';
  id = 0;
  fmt: EventFormat | undefined;
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  len = 0;

  get pid(): number {
    return this.len >= COMMON_PID_OFFSET + 4 ? this.buf.readInt32LE(this.off + COMMON_PID_OFFSET) : -1;
  }

  /** common_flags: irqs off 0x01, need resched 0x04, hardirq 0x08, softirq 0x10, nmi 0x40. */
  get flags(): number {
    return this.len >= 3 ? this.buf[this.off + 2]! : 0;
  }

  get name(): string {
    return this.fmt ? this.fmt.name : `unknown-${this.id}`;
  }

  get system(): string {
    return this.fmt ? this.fmt.system : '';
  }

  /** An integer field as a number (addresses above 2^53 lose their low bits: use big()). */
  num(f: Field): number {
    const size = f.size;
    if (f.offset + size > this.len) return 0;
    const at = this.off + f.offset;
    const b = this.buf;
    // The common sizes read here (pids, ids, longs), without readInt's bigint path while the value fits.
    if (size === 4) return f.signed ? b.readInt32LE(at) : b.readUInt32LE(at);
    if (size === 8) {
      const hi = f.signed ? b.readInt32LE(at + 4) : b.readUInt32LE(at + 4);
      if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + b.readUInt32LE(at);
    }
    const v = readInt(b, at, size, f.signed);
    return typeof v === 'bigint' ? Number(v) : v;
  }

  /** An integer field exactly (addresses, masks). */
  big(f: Field): bigint {
    if (f.offset + f.size > this.len) return 0n;
    const at = this.off + f.offset;
    switch (f.size) {
      case 8:
        return f.signed ? this.buf.readBigInt64LE(at) : this.buf.readBigUInt64LE(at);
      default:
        return BigInt(readInt(this.buf, at, f.size, f.signed));
    }
  }

  str(f: Field): string {
    const v = readField(this.buf, this.off, this.len, f);
    return typeof v === 'string' ? v : String(v);
  }

  value(f: Field): FieldValue {
    return readField(this.buf, this.off, this.len, f);
  }

  /** Every field by name, decoded (for display). */
  fields(): Record<string, FieldValue> {
    const out: Record<string, FieldValue> = {};
    if (this.fmt) for (const f of this.fmt.fields) out[f.name] = this.value(f);
    return out;
  }

  /** A copy that stays valid after the stream moves on. */
  snapshot(): EventRecord {
    return { ts: this.ts, cpu: this.cpu, pid: this.pid, event: this.fmt ? `${this.fmt.system}:${this.fmt.name}` : `unknown-${this.id}`, fields: this.fields() };
  }
}

/** An event kept for a report (evidence, worst case, click in the viewer). */
export interface EventRecord {
  ts: number;
  cpu: number;
  pid: number;
  /** system:name */
  event: string;
  fields: Record<string, FieldValue>;
}

/** JSON has no bigint: addresses become hex strings, other values stay. */
export function jsonValue(v: FieldValue): unknown {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return (v as (number | bigint)[]).map((x) => (typeof x === 'bigint' ? '0x' + x.toString(16) : x));
  return v;
}

export function jsonRecord(r: EventRecord): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.fields)) fields[k] = jsonValue(v);
  return { ts: r.ts, cpu: r.cpu, pid: r.pid, event: r.event, fields };
}

/** JSON text of a result that may hold bigints (as hex) and Buffers (as hex). */
export function toJsonText(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    function (this: unknown, _k, v) {
      if (typeof v === 'bigint') return '0x' + v.toString(16);
      if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) return Buffer.from((v as { data: number[] }).data).toString('hex');
      return v;
    },
    indent,
  );
}
