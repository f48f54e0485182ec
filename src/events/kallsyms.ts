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

/**
 * /proc/kallsyms lists addresses in order: then the stable sort of the reversed list is each run
 * of equal addresses reversed, found in one pass. undefined when the addresses are not in order.
 */
function sortedOrder(his: Uint32Array, los: Uint32Array, n: number): Int32Array | undefined {
  for (let i = 1; i < n; i++) if (his[i]! < his[i - 1]! || (his[i] === his[i - 1] && los[i]! < los[i - 1]!)) return undefined;
  const order = new Int32Array(n);
  let out = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && his[j] === his[i] && los[j] === los[i]) j++;
    for (let k = j - 1; k >= i; k--) order[out++] = k;
    i = j;
  }
  return order;
}

export class KernelSymbols {
  /** Symbol start addresses as 32-bit halves, sorted (plus a zero sentinel, as libtraceevent's table). */
  private readonly his: Uint32Array;
  private readonly los: Uint32Array;
  /** The addresses as lkst's 64-bit numbers (signed, exact below 2^53 in magnitude), NaN beyond. */
  private readonly addrNums: Float64Array;
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
    // Typed columns, grown by doubling (120,000 pushes of numbers past 2^31 into arrays were slow).
    let cap = 1024;
    let his = new Uint32Array(cap);
    let los = new Uint32Array(cap);
    let starts = new Int32Array(cap);
    let ends = new Int32Array(cap);
    let count = 0;
    const grow = <T extends Uint32Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    // Module symbols are few: their indices and modules, kept aside.
    const modIdx: number[] = [];
    const modNames: string[] = [];
    let p = 0;
    const n = text.length;
    while (p < n) {
      let e = text.indexOf(10, p);
      if (e < 0) e = n;
      if (e > p) {
        // The address read as two 32-bit halves, digit by digit.
        let a = p;
        while (a < e && text[a]! === 32) a++;
        let hi = 0;
        let lo = 0;
        let q = a;
        for (; q < e; q++) {
          const c = text[q]!;
          const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (d < 0) break;
          hi = ((hi << 4) | (lo >>> 28)) >>> 0;
          lo = ((lo << 4) | d) >>> 0;
        }
        if (q === a || q - a > 16 || text[q]! !== 32) break;
        const type = text[q + 1]!;
        let ns = q + 2;
        while (ns < e && (text[ns]! === 32 || text[ns]! === 9)) ns++;
        let ne = ns;
        while (ne < e && text[ne]! > 32) ne++;
        if (ne === ns) break;
        // Absolute symbols (x86-64 per-CPU offsets) and ARM's '$' names are not code.
        if (text[ns]! !== 36 && type !== 65 && type !== 97) {
          if (count === cap) {
            cap *= 2;
            his = grow(his);
            los = grow(los);
            starts = grow(starts);
            ends = grow(ends);
          }
          his[count] = hi;
          los[count] = lo;
          // "\t[module]": one tab, a bracket, then the name up to the last character (the ']').
          if (text[ne]! === 9 && text[ne + 1]! === 91) {
            let me = ne + 2;
            while (me < e && text[me]! > 32) me++;
            if (me > ne + 2) {
              modIdx.push(count);
              modNames.push(text.toString('utf8', ne + 2, me - 1));
            }
          }
          starts[count] = ns;
          ends[count] = ne;
          count++;
        }
      }
      p = e + 1;
    }
    // libtraceevent prepends each symbol to a list, then sorts stably: equal addresses end up newest first.
    const order = sortedOrder(his, los, count) ?? Array.from({ length: count }, (_, i) => count - 1 - i).sort((x, y) => his[x]! - his[y]! || los[x]! - los[y]!);
    const H = new Uint32Array(count + 1);
    const L = new Uint32Array(count + 1);
    const S = new Int32Array(count);
    const E = new Int32Array(count);
    const nums = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const k = order[i]!;
      const h = his[k]!;
      H[i] = h;
      L[i] = los[k]!;
      S[i] = starts[k]!;
      E[i] = ends[k]!;
      nums[i] = (h | 0) >= -0x200000 && (h | 0) < 0x200000 ? (h | 0) * 0x100000000 + L[i]! : NaN;
    }
    if (modIdx.length) {
      const rank = new Int32Array(count);
      for (let i = 0; i < count; i++) rank[order[i]!] = i;
      this.modules = new Array<string | undefined>(count);
      for (let j = 0; j < modIdx.length; j++) this.modules[rank[modIdx[j]!]!] = modNames[j];
    }
    this.his = H;
    this.los = L;
    this.text = text;
    this.nameStart = S;
    this.nameEnd = E;
    this.names = new Array<string | undefined>(count);
    this.addrNums = nums;
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
    const a = this.addrNums[i]!;
    if (typeof addr !== 'number' || Number.isNaN(a)) return -1;
    const d = addr - a;
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
