/**
 * Kernel addresses as exact map keys without a bigint per event. An address whose high 16 bits are
 * all ones (the kernel half of x86-64 and arm64: every heap, timer and code address) is its low 48
 * bits as a number, exact below 2^53; any other stays a bigint. The two kinds never meet as keys
 * (a Map tells 5 from 5n), so each address has exactly one key and each key one address.
 */
import type { Field } from '../events/format.js';
import type { TraceEvent } from './event.js';

export type Addr = number | bigint;

const HIGH = 0xffff000000000000n;
const LOW48 = 0xffffffffffffn;

/** The key of an unsigned 64-bit value (a negative bigint, from a signed field, stays itself). */
export function addrKey(v: bigint): Addr {
  return v >> 48n === 0xffffn ? Number(v & LOW48) : v;
}

/** An address field's key, read as two 32-bit halves when it is an unsigned 8-byte field. */
export function addrField(ev: TraceEvent, f: Field): Addr {
  if (f.size !== 8 || f.signed || f.offset + 8 > ev.len) return addrKey(ev.big(f));
  const at = ev.off + f.offset;
  const hi = ev.buf.readUInt32LE(at + 4);
  if (hi >>> 16 !== 0xffff) return ev.buf.readBigUInt64LE(at);
  return (hi & 0xffff) * 0x100000000 + ev.buf.readUInt32LE(at);
}

export function addrBig(a: Addr): bigint {
  return typeof a === 'bigint' ? a : HIGH | BigInt(a);
}

/** Hex digits of the address, as bigint.toString(16) gives them. */
export function addrDigits(a: Addr): string {
  return typeof a === 'bigint' ? a.toString(16) : 'ffff' + a.toString(16).padStart(12, '0');
}

/** "0x..." as hex() in schema.ts writes an address. */
export function addrHex(a: Addr): string {
  return '0x' + addrDigits(a);
}

/** a - b, as Number(bigint a - bigint b). */
export function addrDiff(a: Addr, b: Addr): number {
  return typeof a === 'number' && typeof b === 'number' ? a - b : Number(addrBig(a) - addrBig(b));
}

/** The 4 KiB page of an address (its value >> 12, unsigned): below 2^52, so an exact number. */
export function pageOf(a: Addr): number {
  if (typeof a === 'number') return 0xffff0000 * 0x100000 + Math.floor(a / 4096);
  return Number(BigInt.asUintN(64, a) >> 12n);
}

/** The address's offset inside its 4 KiB page. */
export function offsetOf(a: Addr): number {
  return typeof a === 'number' ? a % 4096 : Number(BigInt.asUintN(64, a) & 4095n);
}
