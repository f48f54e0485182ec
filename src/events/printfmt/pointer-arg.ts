/** %p and its extensions (%pS, %pM, %pI4, %pI6c, %pISpc, %pU, %ph), as libtraceevent prints them. */
import type { Expr } from './ast.js';
import { HEX2 } from './cformat.js';
import { compileNum, hexU64 } from './num-expr.js';
import { dynSpan } from '../field-span.js';
import { convert } from './num.js';
import { EMPTY, type StrPiece } from './str-arg.js';
import { symbolText } from '../kallsyms.js';

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

