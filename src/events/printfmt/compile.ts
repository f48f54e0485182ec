/**
 * Compiles a parsed print format into one renderer per event format, the way libtraceevent's
 * pretty_print prints it: literals and the common conversions generated as code, the rest as calls.
 */
import type { EventFormat, Field } from '../format.js';
import type { Expr } from './ast.js';
import type { RenderContext } from './context.js';
import { HEX2, formatInt, parseSpec } from './cformat.js';
import { compileNum, directSlot, fieldReader, hexU64 } from './num-expr.js';
import { cstr, dynLoc, dynSpan, locLen, locStart } from '../field-span.js';
import { convert, i32le, isTrue, norm, toU64, u16le, u32le, type Num } from './num.js';
import { compilePointer } from './pointer-arg.js';
import { compileStr, type StrPiece } from './str-arg.js';
import { splitFormat, type Segment } from './segments.js';
import { type TextWriter, latin1Bytes } from './writer.js';

export type { StrPiece } from './str-arg.js';

/** Renders a piece of a record into a writer. */
export type Piece = (b: Buffer, off: number, len: number, ctx: RenderContext, w: TextWriter) => void;

export function wrap(p: StrPiece): Piece {
  return (b, o, l, c, w) => w.str(p(b, o, l, c));
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
      if (locLen(loc)) w.cstr(b, o + locStart(loc), o + l);
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
            const d = syms.offsetNum(i, v);
            if (d >= 0) w.uint(d, 16);
            else w.str(syms.offsetHex(i, v));
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

/** JS source for %s of a __get_str field (fields[i] named Fi) or a char array field, copied straight from the record. */
function inlineStr(seg: Segment, fields: Field[]): string | undefined {
  if (seg.t !== 'str' || seg.lenArg || seg.spec !== '%s') return undefined;
  const e = seg.arg;
  if (e.k === 'getstr') {
    fields.push(e.field);
    return `{ const loc = dynLoc(b, o, l, F${fields.length - 1}); if (locLen(loc)) w.cstr(b, o + locStart(loc), o + l); }`;
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
  const fields: Field[] = [];
  const stmts: string[] = [];
  for (const seg of segs) {
    if (seg.t === 'lit') {
      const bytes = latin1Bytes(seg.s);
      if (bytes.length <= 8) {
        // Short literals as direct byte stores.
        const stores = Array.from(bytes, (x) => `B[p++] = ${x};`).join(' ');
        stmts.push(`{ w.need(${bytes.length}); const B = w.buf; let p = w.pos; ${stores} w.pos = p; }`);
      } else {
        stmts.push(`w.bytes(L${lits.length});`);
        lits.push(bytes);
      }
      continue;
    }
    const inline = inlineInt(seg) ?? inlineStr(seg, fields);
    if (inline) {
      stmts.push(inline);
      continue;
    }
    stmts.push(`p${pieces.length}(b, o, l, c, w);`);
    pieces.push(compileSegment(seg));
  }
  if (stmts.length === 1 && pieces.length === 1) return pieces[0]!;
  const names = ['u16le', 'u32le', 'i32le', 'dec64', 'dynLoc', 'locStart', 'locLen', ...pieces.map((_, i) => `p${i}`), ...lits.map((_, i) => `L${i}`), ...fields.map((_, i) => `F${i}`)];
  return new Function(...names, `return (b, o, l, c, w) => { ${stmts.join(' ')} };`)(u16le, u32le, i32le, dec64, dynLoc, locStart, locLen, ...pieces, ...lits, ...fields) as Piece;
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

