/**
 * 64-bit values as libtraceevent computes them (unsigned long long), kept as a JS number while the
 * value fits 53 bits (negative numbers stand for their two's complement), as a bigint beyond.
 */

export type Num = number | bigint;

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const U64 = (1n << 64n) - 1n;

/** The canonical form of a 64-bit value: a number when it fits, else a signed bigint. */
export function norm(b: bigint): Num {
  const s = BigInt.asIntN(64, b);
  return s >= -SAFE && s <= SAFE ? Number(s) : s;
}

export function toU64(v: Num): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));
}

export function isTrue(v: Num): boolean {
  return typeof v === 'number' ? v !== 0 : BigInt.asUintN(64, v) !== 0n;
}

/** strtoull(text, NULL, 0): hex, octal or decimal prefix, stops at the first other character, saturates. */
export function parseCUnsigned(text: string): bigint {
  let s = text.trim();
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let m: RegExpExecArray | null;
  let v = 0n;
  if ((m = /^0[xX]([0-9a-fA-F]+)/.exec(s))) v = BigInt('0x' + m[1]);
  else if ((m = /^0([0-7]*)/.exec(s))) v = m[1] ? BigInt('0o' + m[1]) : 0n;
  else if ((m = /^[0-9]+/.exec(s))) v = BigInt(m[0]);
  if (v > U64) v = U64;
  return neg ? BigInt.asUintN(64, -v) : v;
}

/** Reads a little-endian integer of 1, 2, 4 or 8 bytes, unsigned like tep_read_number (8 bytes: exact Num). */
export function readNum(b: Buffer, at: number, size: number): Num {
  switch (size) {
    case 1:
      return b[at]!;
    case 2:
      return b[at]! | (b[at + 1]! << 8);
    case 4:
      return b.readUInt32LE(at);
    case 8: {
      const lo = b.readUInt32LE(at);
      const hi = b.readInt32LE(at + 4);
      if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + lo;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    default:
      return 0;
  }
}

function bigOp(op: string, a: bigint, b: bigint): bigint {
  const ua = BigInt.asUintN(64, a);
  const ub = BigInt.asUintN(64, b);
  switch (op) {
    case '+': return ua + ub;
    case '-': return ua - ub;
    case '*': return ua * ub;
    case '/': return ub === 0n ? 0n : ua / ub;
    case '%': return ub === 0n ? 0n : ua % ub;
    case '&': return ua & ub;
    case '|': return ua | ub;
    case '^': return ua ^ ub;
    case '<<': return ub > 63n ? 0n : ua << ub;
    case '>>': return ub > 63n ? 0n : ua >> ub;
    case '<': return ua < ub ? 1n : 0n;
    case '>': return ua > ub ? 1n : 0n;
    case '<=': return ua <= ub ? 1n : 0n;
    case '>=': return ua >= ub ? 1n : 0n;
    case '==': return ua === ub ? 1n : 0n;
    case '!=': return ua !== ub ? 1n : 0n;
    case '&&': return ua !== 0n && ub !== 0n ? 1n : 0n;
    case '||': return ua !== 0n || ub !== 0n ? 1n : 0n;
    default: return 0n;
  }
}

/** A binary operator over unsigned 64-bit values (eval_num_arg's arithmetic). */
export function binOp(op: string, a: Num, b: Num): Num {
  if (typeof a === 'number' && typeof b === 'number') {
    let r: number;
    switch (op) {
      case '+': r = a + b; break;
      case '-': r = a - b; break;
      case '*': r = a * b; break;
      case '==': return a === b ? 1 : 0;
      case '!=': return a !== b ? 1 : 0;
      case '&&': return a !== 0 && b !== 0 ? 1 : 0;
      case '||': return a !== 0 || b !== 0 ? 1 : 0;
      case '&': case '|': case '^':
        if (a >= -0x80000000 && a <= 0x7fffffff && b >= -0x80000000 && b <= 0x7fffffff) {
          return op === '&' ? a & b : op === '|' ? a | b : a ^ b;
        }
        if (a >= 0 && b >= 0 && a <= 0xffffffff && b <= 0xffffffff) {
          return (op === '&' ? a & b : op === '|' ? a | b : a ^ b) >>> 0;
        }
        return norm(bigOp(op, BigInt(a), BigInt(b)));
      default:
        if (a >= 0 && b >= 0) {
          switch (op) {
            case '<': return a < b ? 1 : 0;
            case '>': return a > b ? 1 : 0;
            case '<=': return a <= b ? 1 : 0;
            case '>=': return a >= b ? 1 : 0;
            case '/': return b === 0 ? 0 : Math.floor(a / b);
            case '%': return b === 0 ? 0 : a % b;
            case '>>': return b > 63 ? 0 : Math.floor(a / 2 ** b);
          }
        }
        return norm(bigOp(op, BigInt(a), BigInt(b)));
    }
    return Number.isSafeInteger(r) ? r : norm(bigOp(op, BigInt(a), BigInt(b)));
  }
  return norm(bigOp(op, typeof a === 'bigint' ? a : BigInt(a), typeof b === 'bigint' ? b : BigInt(b)));
}

export function unaryOp(op: string, a: Num): Num {
  switch (op) {
    case '!': return isTrue(a) ? 0 : 1;
    case '~': return typeof a === 'number' ? -a - 1 : norm(~a);
    case '-': return typeof a === 'number' ? (a === 0 ? 0 : -a) : norm(-a);
    default: return a;
  }
}

/** libtraceevent's eval_type_str: a cast masks to the named type's size (it never sign-extends). */
export function castMask(type: string): number {
  if (type.endsWith('*') || type.startsWith('struct')) return 0;
  switch (type) {
    case 'u8': case 's8': case 'char': case 'unsigned char': return 8;
    case 'u16': case 's16': case 'short': case 'unsigned short': return 16;
    case 'u32': case 's32': case 'int': case 'unsigned int': return 32;
    default: return 0;
  }
}

export function maskTo(v: Num, bits: number): Num {
  if (bits === 0) return v;
  if (typeof v === 'number') {
    if (bits === 32) return v >= 0 && v <= 0xffffffff ? v : Number(BigInt.asUintN(32, BigInt(v)));
    return v >= 0 ? v % (bits === 8 ? 256 : 65536) : Number(BigInt.asUintN(bits, BigInt(v)));
  }
  return Number(BigInt.asUintN(bits, v));
}

/** The value as C converts it to a signed or unsigned integer of the given width. */
export function convert(v: Num, bits: number, signed: boolean): number | bigint {
  if (bits === 64) {
    if (typeof v === 'number') return signed || v >= 0 ? v : BigInt.asUintN(64, BigInt(v));
    return signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
  }
  if (typeof v === 'number' && v >= -0x80000000 && v <= 0xffffffff) {
    if (bits === 32) return signed ? v | 0 : v >>> 0;
    if (bits === 16) return signed ? (v << 16) >> 16 : v & 0xffff;
    return signed ? (v << 24) >> 24 : v & 0xff;
  }
  const b = typeof v === 'bigint' ? v : BigInt(v);
  return Number(signed ? BigInt.asIntN(bits, b) : BigInt.asUintN(bits, b));
}

/** Little-endian reads straight from the bytes (cheaper than Buffer's checked readers on hot paths). */
export function u16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

export function i32le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}
