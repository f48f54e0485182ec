/**
 * Numeric argument expressions compiled into closures: fields read as libtraceevent reads them
 * (unsigned, 64-bit arithmetic), casts, operators, array elements, dynamic array lengths.
 */
import type { Field } from '../format.js';
import type { Expr } from './ast.js';
import type { RenderContext } from './context.js';
import { toHex } from './cformat.js';
import { dynSpan } from '../field-span.js';
import { binOp, castMask, i32le, isTrue, maskTo, norm, readNum, toU64, u16le, u32le, unaryOp, type Num } from './num.js';

/** Evaluates an argument of a record: data at b[off, off+len) (len includes the record's padding). */
export type NumFn = (b: Buffer, off: number, len: number, ctx: RenderContext) => Num;

export const ZERO: NumFn = () => 0;

export function fieldReader(f: Field): NumFn {
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
      if (op === '+') {
        // Pointer arithmetic (page=%p of base + pfn): the sum of two numbers when it is exact.
        return (b, o, n, c) => {
          const x = l(b, o, n, c);
          const y = r(b, o, n, c);
          if (typeof x === 'number' && typeof y === 'number') {
            const s = x + y;
            if (Number.isSafeInteger(s)) return s;
          }
          return binOp(op, x, y);
        };
      }
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
export function directSlot(e: Expr): [number, number] | undefined {
  // A cast that masks nothing (compileNum drops it) leaves the slot as it is.
  while (e.k === 'cast' && castMask(e.type) === 0) e = e.e;
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

/** Hex digits of a value as an unsigned 64-bit number. */
export function hexU64(v: Num): string {
  return toHex(typeof v === 'number' && v >= 0 ? v : toU64(v));
}

