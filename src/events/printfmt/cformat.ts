/** C printf conversions for integers and strings, as glibc prints them. */

export interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  hash: boolean;
  /** -1: none; -2: taken from an argument ('*'). */
  width: number;
  prec: number;
  /** Length modifier count as libtraceevent counts it: h=-1, l=+1, L/z=2/1. */
  ls: number;
  conv: string;
  /** No flags, width or precision: the plain conversion. */
  plain: boolean;
}

/** Parses one conversion such as "%-08.3lx" (the text from '%' to the conversion letter). */
export function parseSpec(text: string): Spec {
  const spec: Spec = { minus: false, plus: false, space: false, zero: false, hash: false, width: -1, prec: -1, ls: 0, conv: '', plain: true };
  let i = 1;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === '-') spec.minus = true;
    else if (c === '+') spec.plus = true;
    else if (c === ' ') spec.space = true;
    else if (c === '0') spec.zero = true;
    else if (c === '#') spec.hash = true;
    else break;
  }
  if (text[i] === '*') {
    spec.width = -2;
    i++;
  } else {
    let w = '';
    while (i < text.length && text[i]! >= '0' && text[i]! <= '9') w += text[i++];
    if (w) spec.width = Number(w);
  }
  if (text[i] === '.') {
    i++;
    if (text[i] === '*') {
      spec.prec = -2;
      i++;
    } else {
      let p = '';
      while (i < text.length && text[i]! >= '0' && text[i]! <= '9') p += text[i++];
      spec.prec = p ? Number(p) : 0;
    }
  }
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === 'h') spec.ls--;
    else if (c === 'l') spec.ls++;
    else if (c === 'L') spec.ls = 2;
    else if (c === 'z' || c === 'Z' || c === 'j' || c === 't') spec.ls = 1;
    else {
      spec.conv = c;
      break;
    }
  }
  spec.plain = !spec.minus && !spec.plus && !spec.space && !spec.zero && !spec.hash && spec.width === -1 && spec.prec === -1;
  return spec;
}

function pad(n: number, ch: string): string {
  return n > 0 ? ch.repeat(n) : '';
}

/** Applies the '*' argument: a negative width means left-justify; a negative precision means none. */
function widthOf(spec: Spec, arg: number): [number, number, boolean] {
  let width = spec.width;
  let prec = spec.prec;
  let minus = spec.minus;
  if (width === -2) {
    width = arg;
    if (width < 0) {
      minus = true;
      width = -width;
    }
  }
  if (prec === -2) prec = arg < 0 ? -1 : arg;
  return [width, prec, minus];
}

/** Formats an integer already converted to its C type (signedness decides the sign for d/i). */
export function formatInt(spec: Spec, v: number | bigint, starArg = 0): string {
  const conv = spec.conv;
  const neg = v < 0;
  const mag: number | bigint = neg ? -v : v;
  const radix = conv === 'x' || conv === 'X' ? 16 : conv === 'o' ? 8 : 10;
  let digits = radix === 16 ? toHex(mag) : mag.toString(radix);
  if (conv === 'X') digits = digits.toUpperCase();
  if (spec.plain) return neg ? '-' + digits : digits;
  if (!neg && spec.zero && spec.width >= 0 && spec.prec === -1 && !spec.minus && !spec.hash && !spec.plus && !spec.space) {
    return digits.length >= spec.width ? digits : digits.padStart(spec.width, '0');
  }
  const [width, prec, minus] = widthOf(spec, starArg);
  const isZero = mag === 0 || mag === 0n;
  if (prec >= 0) {
    if (prec === 0 && isZero) digits = '';
    else if (digits.length < prec) digits = pad(prec - digits.length, '0') + digits;
  }
  let prefix = '';
  if (neg) prefix = '-';
  else if ((conv === 'd' || conv === 'i') && spec.plus) prefix = '+';
  else if ((conv === 'd' || conv === 'i') && spec.space) prefix = ' ';
  if (spec.hash) {
    if ((conv === 'x' || conv === 'X') && !isZero) prefix += conv === 'x' ? '0x' : '0X';
    else if (conv === 'o' && digits[0] !== '0') digits = '0' + digits;
  }
  const len = prefix.length + digits.length;
  if (width <= len) return prefix + digits;
  if (minus) return prefix + digits + pad(width - len, ' ');
  if (spec.zero && prec < 0) return prefix + pad(width - len, '0') + digits;
  return pad(width - len, ' ') + prefix + digits;
}

/** Formats a string (%s) with width and precision. */
export function formatStr(spec: Spec, s: string, starArg = 0): string {
  if (spec.plain) return s;
  const [width, prec, minus] = widthOf(spec, starArg);
  if (prec >= 0 && s.length > prec) s = s.slice(0, prec);
  if (width <= s.length) return s;
  return minus ? s + pad(width - s.length, ' ') : pad(width - s.length, ' ') + s;
}

/** %02x of a byte. */
export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Hex digits of a byte without leading zero. */
const HEX1: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));

function hex32(n: number): string {
  if (n < 0x100) return HEX1[n]!;
  if (n < 0x10000) return HEX1[n >>> 8]! + HEX2[n & 0xff]!;
  if (n < 0x1000000) return HEX1[n >>> 16]! + HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;
  return HEX1[n >>> 24]! + HEX2[(n >>> 16) & 0xff]! + HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;
}

function hex32Padded(n: number): string {
  return HEX2[n >>> 24]! + HEX2[(n >>> 16) & 0xff]! + HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;
}

/** Lower-case hex of a non-negative integer (Number's toString(16) is slow in V8). */
export function toHex(v: number | bigint): string {
  if (typeof v === 'bigint') return v.toString(16);
  if (v < 0x100000000) return hex32(v);
  if (v > Number.MAX_SAFE_INTEGER) return v.toString(16);
  const hi = Math.floor(v / 0x100000000);
  return hex32(hi) + hex32Padded(v - hi * 0x100000000);
}
