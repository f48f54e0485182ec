/**
 * Where a field's bytes are in a record whose data is b[off, off+len): the one rule every decoder
 * of lkst uses (report text and JSON, typed records, analyses, crash summaries).
 */
import type { Field } from './format.js';
import { u16le, u32le } from './printfmt/num.js';

const U32 = 0x100000000;

/**
 * A __data_loc/__rel_loc field's bytes, packed as start * 2^32 + length (start from the record's
 * beginning; read them with locStart and locLen). The 4-byte field holds the offset in its low 16
 * bits and the length in its high 16; an old 2-byte field holds only the offset, the data running
 * to the end of the record; a __rel_loc offset counts from the end of the field. As libtraceevent
 * (dynamic_offset_field): a field beyond the record gives 0, 0 and an offset beyond it start 0.
 * Data that would run past the record has length 0.
 */
export function dynLoc(b: Buffer, off: number, len: number, f: Field): number {
  const end = f.offset + f.size;
  if (end > len) return 0;
  const v = f.size === 2 ? u16le(b, off + f.offset) : u32le(b, off + f.offset);
  const o = v & 0xffff;
  let n = f.size === 2 ? len - o : Math.floor(v / 0x10000);
  let start = o > len ? 0 : o;
  if (n < 0 || o + n > len) n = 0;
  if (f.dynamic === 'rel_loc') {
    start += end;
    if (start + n > len) n = 0;
  }
  return start * U32 + n;
}

export function locStart(loc: number): number {
  return Math.floor(loc / U32);
}

export function locLen(loc: number): number {
  return loc % U32;
}

/** dynLoc as [start, length]. */
export function dynSpan(b: Buffer, off: number, len: number, f: Field): [number, number] {
  const loc = dynLoc(b, off, len, f);
  return [locStart(loc), locLen(loc)];
}

/**
 * An array field's bytes as [start, length] within the record: a dynamic one's data, an unsized
 * one (char buf[]) to the end of the record, a fixed one its own bytes (none past the record).
 */
export function arraySpan(b: Buffer, off: number, len: number, f: Field): [number, number] {
  if (f.dynamic !== 'none') return dynSpan(b, off, len, f);
  const n = f.arrayLen === 0 ? len - f.offset : Math.min(f.size, len - f.offset);
  return [f.offset, n > 0 ? n : 0];
}

/** A NUL-terminated string starting at b[at], not beyond end. */
export function cstr(b: Buffer, at: number, end: number): string {
  let e = at;
  while (e < end && b[e] !== 0) e++;
  return b.toString('latin1', at, e);
}
