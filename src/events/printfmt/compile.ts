/**
 * Compiles a parsed print format into closures that render one record's text the way
 * libtraceevent's pretty_print does. Compiled once per event format, run per record.
 */
import type { EventFormat, Field } from '../format.js';
import type { Expr } from './ast.js';
import type { RenderContext } from './context.js';
import { HEX2, formatInt, formatStr, parseSpec, toHex } from './cformat.js';
import { binOp, castMask, convert, i32le, isTrue, maskTo, norm, readNum, toU64, u16le, u32le, unaryOp, type Num } from './num.js';
import { splitFormat, type Segment } from './segments.js';
import { symbolText } from './symbols.js';
import { TextWriter, latin1Bytes } from './writer.js';

/** Renders a piece of a record as a string: data at b[off, off+len) (len includes the record's padding). */
export type StrPiece = (b: Buffer, off: number, len: number, ctx: RenderContext) => string;
/** Renders a piece of a record into a writer. */
export type Piece = (b: Buffer, off: number, len: number, ctx: RenderContext, w: TextWriter) => void;

export function wrap(p: StrPiece): Piece {
  return (b, o, l, c, w) => w.str(p(b, o, l, c));
}
type NumFn = (b: Buffer, off: number, len: number, ctx: RenderContext) => Num;

const ZERO: NumFn = () => 0;
const EMPTY: StrPiece = () => '';

/** libtraceevent's numbering of argument kinds, shown in its "ARG TYPE NOT FIELD BUT n" message. */
function argTypeNo(e: Expr): number {
  switch (e.k) {
    case 'num': case 'atom': case 'str': return 1;
    case 'field': return 2;
    case 'flags': return 3;
    case 'symbolic': return 4;
    case 'hex': return e.str ? 15 : 5;
    case 'array': return 6;
    case 'cast': return 7;
    case 'getstr': return 8;
    case 'dynarray': return 10;
    case 'unary': case 'bin': case 'cond': case 'index': return 11;
    case 'call': return 12;
    case 'bitmask': return e.cpumask ? 16 : 13;
    case 'dynlen': return 14;
  }
}

/** Start and length of a __data_loc/__rel_loc field's bytes, relative to the record (dynamic_offset_field). */
export function dynSpan(b: Buffer, off: number, len: number, f: Field): [number, number] {
  if (f.offset + f.size > len) return [0, 0];
  const v = f.size === 2 ? u16le(b, off + f.offset) : u32le(b, off + f.offset);
  const o = v & 0xffff;
  const l = f.size === 2 ? len - o : v >>> 16;
  let start = o > len ? 0 : o;
  const n = o + l > len ? 0 : l;
  if (f.dynamic === 'rel_loc') start += f.offset + f.size;
  return [start, n];
}

/** dynSpan packed in one number (start * 2^17 + length), for hot paths that should not allocate. */
export function dynLoc(b: Buffer, off: number, len: number, f: Field): number {
  if (f.offset + f.size > len) return 0;
  const v = f.size === 2 ? u16le(b, off + f.offset) : u32le(b, off + f.offset);
  const o = v & 0xffff;
  const l = f.size === 2 ? len - o : v >>> 16;
  let start = o > len ? 0 : o;
  const n = o + l > len ? 0 : l;
  if (f.dynamic === 'rel_loc') start += f.offset + f.size;
  return start * 0x20000 + n;
}

/** A NUL-terminated string starting at b[at], not beyond end. */
export function cstr(b: Buffer, at: number, end: number): string {
  let e = at;
  while (e < end && b[e] !== 0) e++;
  return b.toString('latin1', at, e);
}

function fieldReader(f: Field): NumFn {
  const fo = f.offset;
  const end = fo + f.size;
  switch (f.size) {
    case 1:
      return (b, off, len) => (end > len ? 0 : b[off + fo]!);
    case 2:
      return (b, off, len) => (end > len ? 0 : u16le(b, off + fo));
    case 4:
      return (b, off, len) => (end > len ? 0 : u32le(b, off + fo));
    case 8:
      return (b, off, len) => {
        if (end > len) return 0;
        const lo = u32le(b, off + fo);
        const hi = i32le(b, off + fo + 4);
        if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + lo;
        return (BigInt(hi) << 32n) | BigInt(lo);
      };
    default:
      return ZERO;
  }
}

export function compileNum(e: Expr): NumFn {
  switch (e.k) {
    case 'num': {
      const c = norm(e.v);
      return () => c;
    }
    case 'atom': {
      const name = e.text;
      // Resolved once per trace (its kallsyms), then a constant.
      let seen: RenderContext | undefined;
      let value: Num = 0;
      return (_b, _o, _l, ctx) => {
        if (seen !== ctx) {
          const a = ctx.symbols.addressOf(name);
          value = a === undefined ? 0 : norm(a);
          seen = ctx;
        }
        return value;
      };
    }
    case 'field':
      return fieldReader(e.field);
    case 'cast': {
      const inner = compileNum(e.e);
      const bits = castMask(e.type);
      return bits ? (b, o, l, c) => maskTo(inner(b, o, l, c), bits) : inner;
    }
    case 'index':
      return compileIndex(e.base, e.idx);
    case 'unary': {
      const inner = compileNum(e.e);
      const op = e.op;
      return (b, o, l, c) => unaryOp(op, inner(b, o, l, c));
    }
    case 'bin': {
      if (e.op === '^') return ZERO; // libtraceevent's evaluator has no '^'
      const l = compileNum(e.l);
      const r = compileNum(e.r);
      const op = e.op;
      return (b, o, n, c) => binOp(op, l(b, o, n, c), r(b, o, n, c));
    }
    case 'cond': {
      const c = compileNum(e.c);
      const t = compileNum(e.t);
      const f = compileNum(e.f);
      return (b, o, l, x) => (isTrue(c(b, o, l, x)) ? t(b, o, l, x) : f(b, o, l, x));
    }
    case 'dynlen': {
      const f = e.field;
      return (b, o, l) => dynSpan(b, o, l, f)[1];
    }
    case 'call': {
      if (e.name === 'jiffies_to_msecs') return compileNum(e.args[0]!);
      return ZERO;
    }
    default:
      return ZERO;
  }
}

/** Where a plain field, or an array field at a constant index, sits in the record: [offset, size]. */
function directSlot(e: Expr): [number, number] | undefined {
  if (e.k === 'field' && e.field.arrayLen < 0 && e.field.dynamic === 'none') return [e.field.offset, e.field.size];
  if (e.k === 'index' && e.base.k === 'field' && e.idx.k === 'num' && e.base.field.dynamic === 'none' && e.idx.v < 0x10000n) {
    const f = e.base.field;
    return [f.offset + Number(e.idx.v) * f.elemSize, f.elemSize];
  }
  return undefined;
}

function slotReader(offset: number, size: number): NumFn {
  return fieldReader({ name: '', type: '', offset, size, signed: false, arrayLen: -1, elemSize: size, dynamic: 'none', isString: false, isPointer: false });
}

function compileIndex(base: Expr, idxE: Expr): NumFn {
  const slot = directSlot({ k: 'index', base, idx: idxE });
  if (slot) return slotReader(slot[0], slot[1]);
  const idx = compileNum(idxE);
  let typeArg: string | undefined;
  while (base.k === 'cast') {
    typeArg ??= base.type;
    base = base.e;
  }
  let bits = 0;
  if (typeArg !== undefined) bits = typeArg.endsWith('*') ? castMask(typeArg.replace(/\s*\*$/, '')) : 0;
  if (base.k === 'field') {
    const f = base.field;
    const es = f.elemSize;
    return (b, o, l, c) => {
      const iv = idx(b, o, l, c);
      const i = typeof iv === 'number' && iv >= 0 && iv <= 0xffffffff ? iv : Number(toU64(iv) & 0xffffffffn);
      const at = f.offset + i * es;
      if (at + es > l) return 0;
      const v = readNum(b, o + at, es);
      return bits ? maskTo(v, bits) : v;
    };
  }
  if (base.k === 'dynarray') {
    const f = base.field;
    const es = f.elemSize || 8;
    return (b, o, l, c) => {
      const iv = idx(b, o, l, c);
      const at = dynSpan(b, o, l, f)[0] + (typeof iv === 'number' && iv >= 0 && iv <= 0xffffffff ? iv : Number(toU64(iv) & 0xffffffffn));
      if (at + es > l) return 0;
      const v = readNum(b, o + at, es);
      return bits ? maskTo(v, bits) : v;
    };
  }
  return ZERO;
}

function hexU64(v: Num): string {
  return toHex(typeof v === 'number' && v >= 0 ? v : toU64(v));
}

/** Where the bytes of a __print_hex/__print_array base are: a dynamic array or a field. */
function baseSpan(e: Expr): ((b: Buffer, o: number, l: number) => number) | undefined {
  if (e.k === 'dynarray') {
    const f = e.field;
    return (b, o, l) => dynSpan(b, o, l, f)[0];
  }
  if (e.k === 'field') {
    const fo = e.field.offset;
    return () => fo;
  }
  return undefined;
}

/** print_str_arg: an argument printed through a %s conversion. */
export function compileStr(e: Expr, specText: string, lenArg?: Expr): StrPiece {
  const spec = parseSpec(specText);
  const plen = lenArg ? compileNum(lenArg) : undefined;
  const fmt = (s: string, b: Buffer, o: number, l: number, c: RenderContext): string =>
    plen ? formatStr(spec, s, Number(convert(plen(b, o, l, c), 32, true))) : formatStr(spec, s);
  switch (e.k) {
    case 'num':
    case 'atom': {
      const t = e.text;
      return (b, o, l, c) => fmt(t, b, o, l, c);
    }
    case 'str': {
      const t = e.s;
      return (b, o, l, c) => fmt(t, b, o, l, c);
    }
    case 'field': {
      const f = e.field;
      if (f.arrayLen < 0 && f.size === 8) {
        const rd = fieldReader(f);
        return (b, o, l, c) => {
          const v = rd(b, o, l, c);
          const p = c.printk?.get(toU64(v));
          return p ?? hexU64(v);
        };
      }
      const fo = f.offset;
      return (b, o, l, c) => {
        const n = f.size || l - fo;
        return fmt(cstr(b, o + fo, Math.min(o + fo + n, b.length)), b, o, l, c);
      };
    }
    case 'flags':
      return compileFlags(e.e, e.delim, e.table, fmt);
    case 'symbolic': {
      const val = compileNum(e.e);
      const map = new Map<Num, string>();
      for (const { value, str } of e.table) {
        const k = norm(value);
        if (!map.has(k)) map.set(k, str);
      }
      return (b, o, l, c) => {
        const v = val(b, o, l, c);
        const s = map.get(v);
        return s !== undefined ? fmt(s, b, o, l, c) : '0x' + hexU64(v);
      };
    }
    case 'hex': {
      const at = baseSpan(e.e);
      if (!at) return EMPTY;
      const len = compileNum(e.len);
      const sep = e.str ? '' : ' ';
      return (b, o, l, c) => {
        const n = Number(convert(len(b, o, l, c), 32, false));
        const start = o + at(b, o, l);
        let s = '';
        for (let i = 0; i < n && start + i < b.length; i++) s += (i ? sep : '') + HEX2[b[start + i]!];
        return s;
      };
    }
    case 'array': {
      const at = baseSpan(e.e);
      if (!at) return EMPTY;
      const count = compileNum(e.count);
      const elSize = compileNum(e.elSize);
      return (b, o, l, c) => {
        const n = Number(convert(count(b, o, l, c), 32, false));
        let es = Number(convert(elSize(b, o, l, c), 32, true));
        let p = o + at(b, o, l);
        let s = '';
        for (let i = 0; i < n && p < b.length; i++) {
          if (i) s += ' ';
          if (es === 1 || es === 2 || es === 4 || es === 8) s += toU64(readNum(b, p, es)).toString();
          else {
            s += `BAD SIZE:${es} 0x${b[p]!.toString(16)}`;
            es = 1;
          }
          p += es;
        }
        return s;
      };
    }
    case 'getstr': {
      const f = e.field;
      return (b, o, l, c) => {
        const [start, n] = dynSpan(b, o, l, f);
        if (!n) return '';
        return fmt(cstr(b, o + start, o + l), b, o, l, c);
      };
    }
    case 'bitmask': {
      const f = e.field;
      const cpumask = e.cpumask;
      return (b, o, l, c) => {
        const [start, n] = dynSpan(b, o, l, f);
        return fmt(cpumask ? cpumaskText(b, o + start, n) : bitmaskText(b, o + start, n), b, o, l, c);
      };
    }
    case 'cond': {
      const cond = compileNum(e.c);
      const t = compileStr(e.t, specText, lenArg);
      const f = compileStr(e.f, specText, lenArg);
      return (b, o, l, c) => (isTrue(cond(b, o, l, c)) ? t(b, o, l, c) : f(b, o, l, c));
    }
    case 'call': {
      if (e.name === 'jiffies_to_msecs') {
        const a = compileNum(e.args[0]!);
        return (b, o, l, c) => convert(a(b, o, l, c), 64, true).toString();
      }
      if (e.name === 'jbd2_dev_to_name') {
        const a = compileNum(e.args[0]!);
        return (b, o, l, c) => {
          const dev = Number(convert(a(b, o, l, c), 32, false));
          return `${Math.floor(dev / 2 ** 20)}:${dev & 0xfffff}`;
        };
      }
      return EMPTY;
    }
    default:
      return EMPTY;
  }
}

function compileFlags(
  valE: Expr,
  delim: string,
  table: { value: bigint; str: string }[],
  fmt: (s: string, b: Buffer, o: number, l: number, c: RenderContext) => string,
): StrPiece {
  const val = compileNum(valE);
  const small = table.every((t) => t.value <= 0n || t.value <= 0xffffffffn);
  const nums = table.map((t) => Number(t.value));
  return (b, o, l, c) => {
    const v0 = val(b, o, l, c);
    let out = '';
    let printed = false;
    if (small && typeof v0 === 'number' && v0 >= 0 && v0 <= 0xffffffff) {
      let v = v0;
      for (let i = 0; i < nums.length; i++) {
        const fv = nums[i]!;
        if (v === 0 && fv < 0) {
          out += fmt(table[i]!.str, b, o, l, c);
          break;
        }
        if (fv > 0 && (v & fv) >>> 0 === fv) {
          if (printed && delim) out += delim;
          out += fmt(table[i]!.str, b, o, l, c);
          printed = true;
          v = (v & ~fv) >>> 0;
        }
      }
      if (v) {
        if (printed && delim) out += delim;
        out += '0x' + v.toString(16);
      }
      return out;
    }
    let v = toU64(v0);
    for (const t of table) {
      const fv = t.value;
      if (v === 0n && fv < 0n) {
        out += fmt(t.str, b, o, l, c);
        break;
      }
      if (fv > 0n && (v & fv) === fv) {
        if (printed && delim) out += delim;
        out += fmt(t.str, b, o, l, c);
        printed = true;
        v &= ~fv;
      }
    }
    if (v) {
      if (printed && delim) out += delim;
      out += '0x' + v.toString(16);
    }
    return out;
  };
}

/** __get_bitmask: hex bytes, most significant first, a comma every 32 bits. */
export function bitmaskText(b: Buffer, at: number, size: number): string {
  const nrBits = size * 8;
  let strSize = (nrBits + 3) >> 2;
  strSize += nrBits > 0 ? Math.floor((nrBits - 1) / 32) : 0;
  const chars = new Array<string>(strSize).fill('');
  let len = 0;
  for (let i = strSize - 2; i >= 0; i -= 2) {
    const h = HEX2[b[at + len] ?? 0]!;
    chars[i] = h[0]!;
    chars[i + 1] = h[1]!;
    len++;
    if (!(len & 3) && i > 0) {
      i--;
      chars[i] = ',';
    }
  }
  return chars.join('');
}

/** __get_cpumask: CPU ranges such as "0-3,8". */
export function cpumaskText(b: Buffer, at: number, size: number): string {
  const parts: string[] = [];
  let start = -1;
  const nrBits = size * 8;
  for (let bit = 0; bit <= nrBits; bit++) {
    const set = bit < nrBits && ((b[at + (bit >> 3)] ?? 0) >> (bit & 7)) & 1;
    if (set && start < 0) start = bit;
    else if (!set && start >= 0) {
      parts.push(bit - 1 > start ? `${start}-${bit - 1}` : `${start}`);
      start = -1;
    }
  }
  return parts.join(',');
}

function ipv4(bytes: ArrayLike<number>, at: number, leading: boolean, reverse: boolean): string {
  const q = reverse ? [bytes[at + 3]!, bytes[at + 2]!, bytes[at + 1]!, bytes[at]!] : [bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!];
  return q.map((x) => (leading ? String(x).padStart(3, '0') : String(x))).join('.');
}

function ipv6Full(b: Buffer, at: number, colons: boolean): string {
  let s = '';
  for (let j = 0; j < 16; j += 2) {
    s += HEX2[b[at + j]!]! + HEX2[b[at + j + 1]!]!;
    if (colons && j < 14) s += ':';
  }
  return s;
}

/** %pI6c: compressed IPv6 (longest zero run as ::, v4-mapped and ISATAP tails as dotted quads). */
function ipv6Compressed(b: Buffer, at: number): string {
  const w = (i: number): number => (b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!;
  const v4mapped = w(0) === 0 && w(1) === 0 && w(2) === 0 && w(3) === 0 && w(4) === 0 && w(5) === 0xffff;
  const isatap = (w(4) | 0x0200) === 0x0200 && w(5) === 0x5efe;
  const useV4 = v4mapped || isatap;
  const range = useV4 ? 6 : 8;
  const zl: number[] = new Array(8).fill(0);
  for (let i = 0; i < range; i++) for (let j = i; j < range && w(j) === 0; j++) zl[i]!++;
  let longest = 1;
  let colonpos = -1;
  for (let i = 0; i < range; i++) {
    if (zl[i]! > longest) {
      longest = zl[i]!;
      colonpos = i;
    }
  }
  let s = '';
  let needColon = false;
  for (let i = 0; i < range; i++) {
    if (i === colonpos) {
      if (needColon || i === 0) s += ':';
      s += ':';
      needColon = false;
      i += longest - 1;
      continue;
    }
    if (needColon) s += ':';
    s += w(i).toString(16);
    needColon = true;
  }
  if (useV4) {
    if (needColon) s += ':';
    s += ipv4(b, at + 12, false, false);
  }
  return s;
}

/** The argument under any casts, as the pointer printers look at it. */
function uncast(e: Expr): Expr {
  while (e.k === 'cast') e = e.e;
  return e;
}

/** print_arg_pointer: %p and its extensions. */
export function compilePointer(ext: string, argE: Expr, lenArg?: Expr): StrPiece {
  const c0 = ext[0];
  if (c0 === 'F' || c0 === 'f' || c0 === 'S' || c0 === 's') {
    const val = compileNum(argE);
    const withOff = c0 === 'F' || c0 === 'S';
    return (b, o, l, c) => symbolText(c.symbols, val(b, o, l, c), withOff);
  }
  const arg = uncast(argE);
  const notField = `ARG TYPE NOT FIELD BUT ${argTypeNo(arg)}`;
  if (c0 === 'M' || c0 === 'm') {
    if (argE.k === 'call') return EMPTY;
    if (arg.k !== 'field') return () => notField;
    const f = arg.field;
    if (f.size !== 6) return () => 'INVALIDMAC';
    const sep = c0 === 'm' ? '' : ext[1] === 'F' ? '-' : ':';
    const rev = ext[1] === 'R' || ext[2] === 'R';
    return (b, o) => {
      const at = o + f.offset;
      const parts: string[] = [];
      for (let i = 0; i < 6; i++) parts.push(HEX2[b[at + (rev ? 5 - i : i)]!]!);
      return parts.join(sep);
    };
  }
  if (c0 === 'I' || c0 === 'i') return compileIp(ext, argE, arg);
  if (c0 === 'U') {
    if (argE.k === 'call') return EMPTY;
    if (arg.k !== 'field') return () => notField;
    const f = arg.field;
    if (f.size !== 16) return () => 'INVALIDUUID';
    const upper = ext[1] === 'L' || ext[1] === 'B';
    const guid = ext[1] === 'L' || ext[1] === 'l';
    const index = guid ? [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    return (b, o) => {
      let s = '';
      for (let i = 0; i < 16; i++) {
        s += HEX2[b[o + f.offset + index[i]!]!]!;
        if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
      }
      return upper ? s.toUpperCase() : s;
    };
  }
  if (c0 === 'h') {
    if (argE.k === 'call') return EMPTY;
    if (argE.k !== 'dynarray') return () => `ARG TYPE NOT FIELD BUT ${argTypeNo(argE)}`;
    const f = argE.field;
    const delim = ext[1] === 'C' ? ':' : ext[1] === 'D' ? '-' : ext[1] === 'N' ? '' : ' ';
    const plen = lenArg ? compileNum(lenArg) : undefined;
    return (b, o, l, c) => {
      const [start, n] = dynSpan(b, o, l, f);
      let p = plen ? Number(convert(plen(b, o, l, c), 32, true)) : 1;
      if (n < p) p = n;
      let s = '';
      for (let i = 0; i < p; i++) s += (i ? delim : '') + HEX2[b[o + start + i]!];
      return s;
    };
  }
  const val = compileNum(argE);
  return (b, o, l, c) => {
    const v = val(b, o, l, c);
    return v === 0 || v === 0n ? '(nil)' : '0x' + hexU64(v);
  };
}

function compileIp(ext: string, argE: Expr, arg: Expr): StrPiece {
  const i = ext[0]!;
  const ver = ext[1];
  if (ver !== '4' && ver !== '6' && ver !== 'S') return EMPTY;
  if (argE.k === 'call') return EMPTY;
  let k = 2;
  let haveP = false;
  let haveC = false;
  if (ver === 'S' && i === 'I') {
    if (ext[k] === 'p') {
      haveP = true;
      k++;
    }
    if (ext[k] === 'c') {
      haveC = true;
      k++;
    }
  }
  if (ver === '6' && i === 'I' && ext[k] === 'c') haveC = true;
  const h = ext[k];
  const reverse = h === 'h' || h === 'l';
  if (ver === '4' || ver === '6') {
    if (arg.k !== 'field') return () => `ARG TYPE NOT FIELD BUT ${argTypeNo(arg)}`;
    const f = arg.field;
    if (ver === '4') {
      if (f.size !== 4) return () => 'INVALIDIPv4';
      return (b, o) => ipv4(b, o + f.offset, i === 'i', reverse);
    }
    if (f.size !== 16) return () => 'INVALIDIPv6';
    return (b, o) => (haveC ? ipv6Compressed(b, o + f.offset) : ipv6Full(b, o + f.offset, i === 'I'));
  }
  let span: (b: Buffer, o: number, l: number) => [number, number];
  if (arg.k === 'field') {
    const f = arg.field;
    span = () => [f.offset, f.size];
  } else if (arg.k === 'dynarray') {
    const f = arg.field;
    span = (b, o, l) => dynSpan(b, o, l, f);
  } else return () => `ARG NOT FIELD NOR DYNAMIC ARRAY BUT TYPE ${argTypeNo(arg)}`;
  return (b, o, l) => {
    const [start, n] = span(b, o, l);
    const at = o + start;
    const family = b.readUInt16LE(at);
    if (family === 2) {
      if (n < 16) return 'INVALIDIPv4';
      let s = ipv4(b, at + 4, i === 'i', reverse);
      if (haveP) s += ':' + b.readUInt16BE(at + 2);
      return s;
    }
    if (family === 10) {
      if (n < 28) return 'INVALIDIPv6';
      const addr = haveC ? ipv6Compressed(b, at + 8) : ipv6Full(b, at + 8, i === 'I');
      return haveP ? `[${addr}]:${b.readUInt16BE(at + 2)}` : addr;
    }
    return '';
  };
}

function compileInt(specText: string, argE: Expr, lenArg?: Expr): Piece {
  const spec = parseSpec(specText);
  const val = compileNum(argE);
  const bits = spec.ls <= -2 ? 8 : spec.ls === -1 ? 16 : spec.ls === 0 ? 32 : 64;
  const signed = spec.conv === 'd' || spec.conv === 'i';
  if (lenArg) {
    const plen = compileNum(lenArg);
    return (b, o, l, c, w) => w.str(formatInt(spec, convert(val(b, o, l, c), bits, signed), Number(convert(plen(b, o, l, c), 32, true))));
  }
  const hex = spec.conv === 'x';
  const hexOk = hex && (spec.plain || (spec.zero && spec.width > 0 && spec.prec === -1 && !spec.minus && !spec.hash && !spec.plus && !spec.space));
  const slot = directSlot(argE);
  if (hexOk && bits === 64 && slot && slot[1] === 8) {
    // A 64-bit field in hex: straight from its two halves, never through a bigint.
    const fo = slot[0];
    const width = spec.plain ? 0 : spec.width;
    return (b, o, l, _c, w) => {
      if (fo + 8 > l) w.uint(0, 16, width);
      else w.hex64(u32le(b, o + fo + 4), u32le(b, o + fo), width);
    };
  }
  if (hexOk && bits >= 32) {
    // Hex from the 32-bit halves of the value (a negative number is its two's complement).
    const width = spec.plain ? 0 : spec.width;
    return (b, o, l, c, w) => {
      const v = val(b, o, l, c);
      if (typeof v === 'number') {
        if (bits === 32 || (v >= 0 && v <= 0xffffffff)) w.uint(v >>> 0, 16, width);
        else w.hex64(Math.floor(v / 0x100000000) >>> 0, v >>> 0, width);
      } else w.hex64(Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn), width);
    };
  }
  if ((spec.plain && (hex || signed || spec.conv === 'u')) || (hex && spec.zero && spec.width > 0 && spec.prec === -1 && !spec.minus && !spec.hash && !spec.plus && !spec.space)) {
    const radix = hex ? 16 : 10;
    const width = spec.plain ? 0 : spec.width;
    return (b, o, l, c, w) => {
      const v = convert(val(b, o, l, c), bits, signed);
      if (typeof v === 'number' && v <= Number.MAX_SAFE_INTEGER) {
        if (v >= 0) w.uint(v, radix, width);
        else w.int(v);
      } else w.str(formatInt(spec, v));
    };
  }
  return (b, o, l, c, w) => w.str(formatInt(spec, convert(val(b, o, l, c), bits, signed)));
}

/** %s of a string the record holds, written without making a string when there is no width or precision. */
function compileStrSegment(e: Expr, specText: string, lenArg?: Expr): Piece {
  const plain = !lenArg && specText === '%s';
  if (plain && e.k === 'getstr') {
    const f = e.field;
    return (b, o, l, _c, w) => {
      const loc = dynLoc(b, o, l, f);
      if (loc & 0x1ffff) w.cstr(b, o + Math.floor(loc / 0x20000), o + l);
    };
  }
  if (plain && e.k === 'field' && !(e.field.arrayLen < 0 && e.field.size === 8)) {
    const f = e.field;
    return (b, o, l, _c, w) => {
      const n = f.size || l - f.offset;
      w.cstr(b, o + f.offset, Math.min(o + f.offset + n, b.length));
    };
  }
  if (plain) {
    const direct = plainStrWriter(e);
    if (direct) return direct;
  }
  return wrap(compileStr(e, specText, lenArg));
}

/** Writer pieces for a plain %s of constants, conditions, flags and symbols (no strings made per record). */
function plainStrWriter(e: Expr): Piece | undefined {
  switch (e.k) {
    case 'str':
    case 'atom':
    case 'num': {
      const bytes = latin1Bytes(e.k === 'str' ? e.s : e.text);
      return (_b, _o, _l, _c, w) => w.bytes(bytes);
    }
    case 'cond': {
      const cond = compileNum(e.c);
      const t = compileStrSegment(e.t, '%s');
      const f = compileStrSegment(e.f, '%s');
      return (b, o, l, c, w) => (isTrue(cond(b, o, l, c)) ? t(b, o, l, c, w) : f(b, o, l, c, w));
    }
    case 'symbolic': {
      const val = compileNum(e.e);
      const map = new Map<Num, Uint8Array>();
      for (const { value, str } of e.table) {
        const k = norm(value);
        if (!map.has(k)) map.set(k, latin1Bytes(str));
      }
      return (b, o, l, c, w) => {
        const v = val(b, o, l, c);
        const s = map.get(v);
        if (s !== undefined) w.bytes(s);
        else {
          w.ch(48);
          w.ch(120);
          w.str(hexU64(v));
        }
      };
    }
    case 'flags': {
      if (!e.table.every((t) => t.value <= 0xffffffffn)) return undefined;
      const val = compileNum(e.e);
      const vals = e.table.map((t) => Number(t.value));
      const strs = e.table.map((t) => latin1Bytes(t.str));
      const delim = latin1Bytes(e.delim);
      const slow = wrap(compileStr(e, '%s'));
      return (b, o, l, c, w) => {
        const v0 = val(b, o, l, c);
        if (typeof v0 !== 'number' || v0 < 0 || v0 > 0xffffffff) {
          slow(b, o, l, c, w);
          return;
        }
        let v = v0;
        let printed = false;
        for (let i = 0; i < vals.length; i++) {
          const fv = vals[i]!;
          if (v === 0 && fv < 0) {
            w.bytes(strs[i]!);
            break;
          }
          if (fv > 0 && (v & fv) >>> 0 === fv) {
            if (printed) w.bytes(delim);
            w.bytes(strs[i]!);
            printed = true;
            v = (v & ~fv) >>> 0;
          }
        }
        if (v) {
          if (printed) w.bytes(delim);
          w.ch(48);
          w.ch(120);
          w.uint(v, 16);
        }
      };
    }
    default:
      return undefined;
  }
}

function compileSegment(seg: Segment): Piece {
  switch (seg.t) {
    case 'lit': {
      const s = seg.s;
      return (_b, _o, _l, _c, w) => w.str(s);
    }
    case 'int':
      return compileInt(seg.spec, seg.arg, seg.lenArg);
    case 'str':
      return compileStrSegment(seg.arg, seg.spec, seg.lenArg);
    case 'ptr':
      if (!seg.ext && seg.arg.k === 'field' && seg.arg.field.size === 8 && seg.arg.field.arrayLen < 0) {
        const fo = seg.arg.field.offset;
        return (b, o, l, _c, w) => {
          const lo = fo + 8 > l ? 0 : u32le(b, o + fo);
          const hi = fo + 8 > l ? 0 : u32le(b, o + fo + 4);
          if (!lo && !hi) w.str('(nil)');
          else {
            w.ch(48);
            w.ch(120);
            w.hex64(hi, lo);
          }
        };
      }
      if (!seg.ext) {
        const val = compileNum(seg.arg);
        return (b, o, l, c, w) => {
          const v = val(b, o, l, c);
          if (v === 0 || v === 0n) w.str('(nil)');
          else {
            w.str('0x');
            if (typeof v === 'number' && v > 0) w.uint(v, 16);
            else w.str(hexU64(v));
          }
        };
      }
      if (seg.ext === 'S' || seg.ext === 's' || seg.ext === 'F' || seg.ext === 'f') {
        const val = compileNum(seg.arg);
        const withOff = seg.ext === 'S' || seg.ext === 'F';
        return (b, o, l, c, w) => {
          const v = val(b, o, l, c);
          const syms = c.symbols;
          const i = syms.indexOf(v);
          if (i < 0) {
            w.ch(48);
            w.ch(120);
            w.str(hexU64(v));
            return;
          }
          w.str(syms.nameAt(i));
          if (withOff) {
            w.str('+0x');
            w.str(syms.offsetHex(i, v));
          }
        };
      }
      return wrap(compilePointer(seg.ext, seg.arg, seg.lenArg));
  }
}

/** Joins pieces into one renderer: one generated function, so V8 can inline the pieces. */
export function joinPieces(pieces: Piece[]): Piece {
  if (pieces.length === 0) return () => {};
  if (pieces.length === 1) return pieces[0]!;
  const names = pieces.map((_, i) => `p${i}`);
  const body = `return (b, o, l, c, w) => { ${names.map((n) => `${n}(b, o, l, c, w);`).join(' ')} };`;
  return new Function(...names, body)(...pieces) as Piece;
}

/** Decimal text of the 64-bit value hi:lo (beyond what a number holds exactly). */
function dec64(hi: number, lo: number, signed: boolean): string {
  const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return (signed ? BigInt.asIntN(64, v) : v).toString();
}

/** JS source that reads the slot's value unsigned (tep_read_number), for sizes 1, 2 and 4. */
function readSrc(off: number, size: number): string {
  return size === 1 ? `b[o + ${off}]` : size === 2 ? `u16le(b, o + ${off})` : `u32le(b, o + ${off})`;
}

/**
 * JS source for an integer conversion of a plain field (or an array element at a constant index),
 * for the common conversions; undefined when the general piece must do it.
 */
function inlineInt(seg: Segment): string | undefined {
  if (seg.t !== 'int' || seg.lenArg) return undefined;
  const slot = directSlot(seg.arg);
  if (!slot) return undefined;
  const [off, size] = slot;
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return undefined;
  const spec = parseSpec(seg.spec);
  const conv = spec.conv;
  const hex = conv === 'x';
  const zeroPadHex = hex && spec.zero && spec.width > 0 && spec.prec === -1 && !spec.minus && !spec.hash && !spec.plus && !spec.space;
  if (!spec.plain && !zeroPadHex) return undefined;
  if (!hex && conv !== 'd' && conv !== 'i' && conv !== 'u') return undefined;
  const bits = spec.ls <= -2 ? 8 : spec.ls === -1 ? 16 : spec.ls === 0 ? 32 : 64;
  if (bits < 32) return undefined;
  const W = zeroPadHex ? spec.width : 0;
  const signed = conv === 'd' || conv === 'i';
  let body: string;
  if (size === 8 && bits === 64) {
    if (hex) body = `w.hex64(u32le(b, o + ${off + 4}), u32le(b, o + ${off}), ${W});`;
    else if (signed) body = `{ const h = i32le(b, o + ${off + 4}), L = u32le(b, o + ${off}); if (h >= -0x200000 && h < 0x200000) w.int(h * 4294967296 + L); else w.str(dec64(h, L, true)); }`;
    else body = `{ const h = u32le(b, o + ${off + 4}), L = u32le(b, o + ${off}); if (h < 0x200000) w.uint(h * 4294967296 + L, 10, 0); else w.str(dec64(h, L, false)); }`;
  } else if (hex) {
    body = `w.uint(${readSrc(off, Math.min(size, 4))}, 16, ${W});`;
  } else if (signed && bits === 32 && size >= 4) {
    body = `w.int(i32le(b, o + ${off}));`;
  } else {
    body = `w.uint(${readSrc(off, Math.min(size, 4))}, 10, 0);`;
  }
  return `if (${off + size} > l) w.uint(0, ${hex ? 16 : 10}, ${W}); else ${body}`;
}

/** JS source for %s of a __get_str field or a char array field, copied straight from the record. */
function inlineStr(seg: Segment): string | undefined {
  if (seg.t !== 'str' || seg.lenArg || seg.spec !== '%s') return undefined;
  const e = seg.arg;
  if (e.k === 'getstr') {
    const f = e.field;
    if (f.dynamic !== 'data_loc' || f.size !== 4) return undefined;
    return `if (${f.offset + 4} <= l) { const v = u32le(b, o + ${f.offset}), s = v & 0xffff, n = v >>> 16; if (n && s + n <= l && s <= l) w.cstr(b, o + s, o + l); }`;
  }
  if (e.k === 'field' && e.field.arrayLen > 0 && e.field.dynamic === 'none' && e.field.size > 0) {
    const f = e.field;
    return `w.cstr(b, o + ${f.offset}, Math.min(o + ${f.offset + f.size}, b.length));`;
  }
  return undefined;
}

/**
 * Literal text and conversions in one generated function per format: literals as constants, the
 * common conversions inlined (each format's code is then optimized on its own), the rest as calls.
 */
export function compileSegments(segs: Segment[]): Piece {
  const pieces: Piece[] = [];
  const lits: Uint8Array[] = [];
  const stmts: string[] = [];
  for (const seg of segs) {
    if (seg.t === 'lit') {
      const bytes = latin1Bytes(seg.s);
      if (bytes.length <= 8) {
        // Short literals as direct byte stores.
        const stores = Array.from(bytes, (x) => `B[p++] = ${x};`).join(' ');
        stmts.push(`{ w.need(${bytes.length}); const B = w.buf; let p = w.pos; ${stores} w.pos = p; w.total += ${bytes.length}; }`);
      } else {
        stmts.push(`w.bytes(L${lits.length});`);
        lits.push(bytes);
      }
      continue;
    }
    const inline = inlineInt(seg) ?? inlineStr(seg);
    if (inline) {
      stmts.push(inline);
      continue;
    }
    stmts.push(`p${pieces.length}(b, o, l, c, w);`);
    pieces.push(compileSegment(seg));
  }
  if (stmts.length === 1 && pieces.length === 1) return pieces[0]!;
  const names = ['u16le', 'u32le', 'i32le', 'dec64', ...pieces.map((_, i) => `p${i}`), ...lits.map((_, i) => `L${i}`)];
  return new Function(...names, `return (b, o, l, c, w) => { ${stmts.join(' ')} };`)(u16le, u32le, i32le, dec64, ...pieces, ...lits) as Piece;
}

export { splitFormat };

/** The raw value of one field as libtraceevent prints it for an event it could not parse (print_field_raw). */
export function rawFieldPiece(fmt: EventFormat, f: Field): StrPiece {
  const isString = f.arrayLen >= 0 && /char|u8|s8/.test(f.type);
  const isLong = /long/.test(f.type);
  if (f.arrayLen >= 0) {
    return (b, o, l) => {
      let start = f.offset;
      let n = f.size;
      if (f.dynamic !== 'none') [start, n] = dynSpan(b, o, l, f);
      if (isString) {
        let printable = true;
        for (let i = 0; i < n && b[o + start + i] !== 0; i++) {
          const ch = b[o + start + i]!;
          if (!((ch >= 0x20 && ch < 0x7f) || (ch >= 9 && ch <= 13))) {
            printable = false;
            break;
          }
        }
        if (printable) return cstr(b, o + start, b.length);
      }
      const parts: string[] = [];
      for (let i = 0; i < n; i++) parts.push(HEX2[b[o + start + i] ?? 0]!);
      return `ARRAY[${parts.join(', ')}]`;
    };
  }
  const rd = fieldReader(f);
  void fmt;
  return (b, o, l, c) => {
    const v = rd(b, o, l, c);
    if (f.isPointer) return '0x' + hexU64(v);
    if (f.signed) {
      switch (f.size) {
        case 4:
          return isLong ? '0x' + (convert(v, 32, false) as number).toString(16) : String(convert(v, 32, true));
        case 2:
          return formatInt(parseSpec('%2d'), convert(v, 16, true));
        case 1:
          return String(convert(v, 8, true));
        default:
          return String(convert(v, 64, true));
      }
    }
    return isLong ? '0x' + hexU64(v) : toU64(v).toString();
  };
}
