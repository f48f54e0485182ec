/**
 * Kernel symbols from a kallsyms text, and the one rule lkst names addresses by: libtraceevent's
 * (the symbol whose start is the nearest at or below the address; nothing past the last symbol),
 * so %pS in reports, analyses' tables and crash summaries all agree with trace-cmd.
 */
import type { Num } from './printfmt/num.js';

export interface SymbolHit {
  name: string;
  /** Where the symbol starts. */
  addr: bigint;
  /** Bytes past the start. */
  offset: bigint;
  module?: string;
}

/** Hex digit values by byte, -1 for other bytes. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[97 + c] = HEX[65 + c] = 10 + c;

/** The symbols of a kallsyms text: start address halves and name spans, modules aside. */
interface Parsed {
  count: number;
  his: Uint32Array;
  los: Uint32Array;
  starts: Int32Array;
  ends: Int32Array;
  modIdx: number[];
  modNames: string[];
}

/**
 * Reads "ADDR TYPE NAME[\t[MODULE]]" lines as tep_parse_kallsyms does (absolute symbols and '$'
 * names left out, reading stops at the first line it cannot read), touching each byte once. It
 * runs once per process, mostly before V8 optimizes it: a Buffer.indexOf per line, a second walk
 * over each line and copies of every column cost 100-370 ms CPU for 5 MB; this, 2-3 times less.
 */
function parseKallsyms(text: Buffer): Parsed {
  const n = text.length;
  // Lines are at least ~20 bytes: rarely grown. One spare entry for the table's zero sentinel.
  let cap = (n >>> 5) + 64;
  let his = new Uint32Array(cap + 1);
  let los = new Uint32Array(cap + 1);
  let starts = new Int32Array(cap);
  let ends = new Int32Array(cap);
  let count = 0;
  const modIdx: number[] = [];
  const modNames: string[] = [];
  let p = 0;
  while (p < n) {
    if (text[p] === 10) {
      p++;
      continue;
    }
    let a = p;
    while (text[a] === 32) a++;
    // The address read as two 32-bit halves, digit by digit.
    let hi = 0;
    let lo = 0;
    let q = a;
    for (; q < n; q++) {
      const d = HEX[text[q]!]!;
      if (d < 0) break;
      hi = ((hi << 4) | (lo >>> 28)) >>> 0;
      lo = ((lo << 4) | d) >>> 0;
    }
    if (q === a || q - a > 16 || text[q] !== 32 || q + 1 >= n || text[q + 1] === 10) break;
    const type = text[q + 1]!;
    // Every byte test below stops at the newline (10) too.
    let ns = q + 2;
    while (text[ns] === 32 || text[ns] === 9) ns++;
    let ne = ns;
    while (ne < n && text[ne]! > 32) ne++;
    if (ne === ns) break;
    let end = ne;
    // Absolute symbols (x86-64 per-CPU offsets) and ARM's '$' names are not code.
    if (text[ns] !== 36 && type !== 65 && type !== 97) {
      if (count === cap) {
        cap *= 2;
        his = grown(his, cap + 1);
        los = grown(los, cap + 1);
        starts = grown(starts, cap);
        ends = grown(ends, cap);
      }
      his[count] = hi;
      los[count] = lo;
      starts[count] = ns;
      ends[count] = ne;
      // "\t[module]": one tab, a bracket, then the name up to the last character (the ']').
      if (text[ne] === 9 && text[ne + 1] === 91) {
        let me = ne + 2;
        while (me < n && text[me]! > 32) me++;
        if (me > ne + 2) {
          modIdx.push(count);
          modNames.push(text.toString('utf8', ne + 2, me - 1));
        }
        end = me;
      }
      count++;
    }
    while (end < n && text[end] !== 10) end++;
    p = end + 1;
  }
  return { count, his, los, starts, ends, modIdx, modNames };
}

function grown<T extends Uint32Array | Int32Array>(a: T, n: number): T {
  const b = (a instanceof Uint32Array ? new Uint32Array(n) : new Int32Array(n)) as T;
  b.set(a);
  return b;
}

/**
 * Puts the symbols in libtraceevent's table order, which prepends each symbol to a list and then
 * sorts stably: equal addresses end up newest first. /proc/kallsyms lists addresses in order, and
 * then that is each run of equal addresses reversed, in place; else a sort. Returns each symbol's
 * place by its place in the text.
 */
function toTableOrder(t: Parsed): (k: number) => number {
  const { count, his, los, starts, ends } = t;
  let sorted = true;
  for (let i = 1; i < count; i++) {
    if (his[i]! < his[i - 1]! || (his[i] === his[i - 1] && los[i]! < los[i - 1]!)) {
      sorted = false;
      break;
    }
  }
  if (sorted) {
    for (let i = 0; i < count; ) {
      let j = i + 1;
      while (j < count && his[j] === his[i] && los[j] === los[i]) j++;
      for (let x = i, y = j - 1; x < y; x++, y--) {
        const s = starts[x]!;
        starts[x] = starts[y]!;
        starts[y] = s;
        const e = ends[x]!;
        ends[x] = ends[y]!;
        ends[y] = e;
      }
      i = j;
    }
    // Modules are few: their symbols' places found by their runs.
    return (k) => {
      let i = k;
      let j = k + 1;
      while (i > 0 && his[i - 1] === his[k] && los[i - 1] === los[k]) i--;
      while (j < count && his[j] === his[k] && los[j] === los[k]) j++;
      return i + j - 1 - k;
    };
  }
  const order = Array.from({ length: count }, (_, i) => count - 1 - i).sort((x, y) => his[x]! - his[y]! || los[x]! - los[y]!);
  const place = new Int32Array(count);
  const copy = <T extends Uint32Array | Int32Array>(a: T): void => {
    const old = a.slice(0, count);
    for (let i = 0; i < count; i++) a[i] = old[order[i]!]!;
  };
  copy(his);
  copy(los);
  copy(starts);
  copy(ends);
  for (let i = 0; i < count; i++) place[order[i]!] = i;
  return (k) => place[k]!;
}

export class KernelSymbols {
  /** Symbol start addresses as 32-bit halves, sorted (plus a zero sentinel, as libtraceevent's table). */
  private readonly his: Uint32Array;
  private readonly los: Uint32Array;
  /** Where each symbol's name is in the text's bytes: made into strings only when asked (most never are). */
  private readonly text: Buffer;
  private readonly nameStart: Int32Array;
  private readonly nameEnd: Int32Array;
  private readonly names: (string | undefined)[];
  /** Module of each symbol; undefined when the text named none. */
  private readonly modules?: (string | undefined)[];
  private readonly cache = new Map<Num, number>();

  /**
   * Parses /proc/kallsyms text: "ADDR TYPE NAME[\t[MODULE]]", as tep_parse_kallsyms does: absolute
   * symbols and '$' names are left out, and reading stops at the first line it cannot read. Bytes
   * (UTF-8) are read as they are: a trace's 5 MB of kallsyms need not become a string.
   */
  constructor(source: string | Uint8Array = '') {
    const text = typeof source === 'string' ? Buffer.from(source, 'utf8') : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    const t = parseKallsyms(text);
    const placeOf = toTableOrder(t);
    const count = t.count;
    if (t.modIdx.length) {
      this.modules = new Array<string | undefined>(count);
      for (let j = 0; j < t.modIdx.length; j++) this.modules[placeOf(t.modIdx[j]!)] = t.modNames[j];
    }
    // Views of the columns, with the zero sentinel after the last address (the arrays are zeroed past count).
    this.his = t.his.subarray(0, count + 1);
    this.los = t.los.subarray(0, count + 1);
    this.text = text;
    this.nameStart = t.starts.subarray(0, count);
    this.nameEnd = t.ends.subarray(0, count);
    this.names = new Array<string | undefined>(count);
  }

  get size(): number {
    return this.nameStart.length;
  }

  /** Index of the symbol containing addr (glibc bsearch over libtraceevent's comparison), or -1. */
  indexOf(addr: Num): number {
    const hit = this.cache.get(addr);
    if (hit !== undefined) return hit;
    let kh: number;
    let kl: number;
    if (typeof addr === 'number') {
      kh = Math.floor(addr / 0x100000000) >>> 0;
      kl = addr >>> 0;
    } else {
      kh = Number((addr >> 32n) & 0xffffffffn);
      kl = Number(addr & 0xffffffffn);
    }
    const H = this.his;
    const L = this.los;
    // key vs entry i: <0, 0, >0 (hi first, then lo; all unsigned)
    const cmp = (i: number): number => (kh !== H[i]! ? kh - H[i]! : kl - L[i]!);
    let l = 0;
    let u = this.nameStart.length;
    let found = -1;
    while (l < u) {
      const idx = (l + u) >>> 1;
      const c = cmp(idx);
      if (c === 0 || (c > 0 && cmp(idx + 1) < 0)) {
        found = idx;
        break;
      }
      if (c < 0) u = idx;
      else l = idx + 1;
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(addr, found);
    return found;
  }

  /** The symbol containing addr (an unsigned address, or a Num as records hold it). */
  lookup(addr: Num): SymbolHit | undefined {
    const i = this.indexOf(addr);
    if (i < 0) return undefined;
    const start = this.addrAt(i);
    const hit: SymbolHit = { name: this.nameAt(i), addr: start, offset: BigInt.asUintN(64, BigInt(addr) - start) };
    const mod = this.modules?.[i];
    if (mod !== undefined) hit.module = mod;
    return hit;
  }

  nameAt(i: number): string {
    return (this.names[i] ??= this.text.toString('utf8', this.nameStart[i]!, this.nameEnd[i]!));
  }

  addrAt(i: number): bigint {
    return (BigInt(this.his[i]!) << 32n) | BigInt(this.los[i]!);
  }

  /** addr minus the start of symbol i when both are exact numbers and it is not negative, else -1 (then see offsetHex). */
  offsetNum(i: number, addr: Num): number {
    // Symbol i's start as lkst's 64-bit number: signed, exact below 2^53 in magnitude.
    const h = this.his[i]! | 0;
    if (typeof addr !== 'number' || h < -0x200000 || h >= 0x200000) return -1;
    const d = addr - (h * 0x100000000 + this.los[i]!);
    return d >= 0 && d <= Number.MAX_SAFE_INTEGER ? d : -1;
  }

  /** Hex of addr minus the start of symbol i (unsigned 64-bit), without bigints when both are numbers. */
  offsetHex(i: number, addr: Num): string {
    const d = this.offsetNum(i, addr);
    if (d >= 0) return d.toString(16);
    return BigInt.asUintN(64, BigInt(addr) - this.addrAt(i)).toString(16);
  }

  /** The address of a symbol by name (first in address order), as libtraceevent's test_for_symbol. */
  addressOf(name: string): bigint | undefined {
    // A linear search: print formats name few symbols, and each result is kept by the caller.
    const want = Buffer.from(name, 'utf8');
    const n = want.length;
    for (let i = 0; i < this.nameStart.length; i++) {
      const s = this.nameStart[i]!;
      if (this.nameEnd[i]! - s === n && this.text.compare(want, 0, n, s, s + n) === 0) return this.addrAt(i);
    }
    return undefined;
  }
}

/** "name+0xoff" for %pS (with offset) or "name" for %ps; "0x..." when the address is in no symbol. */
export function symbolText(syms: KernelSymbols, addr: Num, withOffset: boolean): string {
  const i = syms.indexOf(addr);
  if (i < 0) return '0x' + BigInt.asUintN(64, BigInt(addr)).toString(16);
  const name = syms.nameAt(i);
  if (!withOffset) return name;
  return name + '+0x' + syms.offsetHex(i, addr);
}

/**
 * A name for tables and summaries: "name+0xoff" ("name" at the start; " [module]" after it when
 * asked), or undefined outside every symbol or more than maxOffset bytes past its start (an address
 * that far into a symbol is more likely in unlisted code than in it).
 */
export function symbolLabel(syms: KernelSymbols, addr: Num, maxOffset: bigint, withModule = false): string | undefined {
  const hit = syms.lookup(addr);
  if (!hit || hit.offset > maxOffset) return undefined;
  const at = hit.offset ? `${hit.name}+0x${hit.offset.toString(16)}` : hit.name;
  return withModule && hit.module !== undefined ? `${at} [${hit.module}]` : at;
}
