/** Arguments printed through %s (libtraceevent's print_str_arg), rendered as strings. */
import type { Expr } from './ast.js';
import type { RenderContext } from './context.js';
import { HEX2, formatStr, parseSpec } from './cformat.js';
import { compileNum, fieldReader, hexU64 } from './num-expr.js';
import { cstr, dynSpan } from '../field-span.js';
import { convert, isTrue, norm, readNum, toU64, type Num } from './num.js';

/** Renders a piece of a record as a string: data at b[off, off+len) (len includes the record's padding). */
export type StrPiece = (b: Buffer, off: number, len: number, ctx: RenderContext) => string;

export const EMPTY: StrPiece = () => '';

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

