/**
 * Kernel symbols from a kallsyms text, looked up the way libtraceevent does (the function that
 * contains an address; nothing past the last symbol), so %pS and call sites match trace-cmd.
 */
import type { Num } from './num.js';

export interface SymbolHit {
  name: string;
  addr: bigint;
}

export class KernelSymbols {
  private readonly addrs: BigUint64Array;
  /** The addresses as lkst's 64-bit numbers (signed, exact below 2^53 in magnitude), NaN beyond. */
  private readonly addrNums: Float64Array;
  private readonly names: string[];
  private readonly cache = new Map<Num, number>();

  private constructor(addrs: BigUint64Array, names: string[]) {
    this.addrs = addrs;
    this.names = names;
    this.addrNums = new Float64Array(names.length);
    const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < names.length; i++) {
      const v = BigInt.asIntN(64, addrs[i]!);
      this.addrNums[i] = v >= -SAFE && v <= SAFE ? Number(v) : NaN;
    }
  }

  /** Hex of addr minus the start of symbol i (unsigned 64-bit), without bigints when both are numbers. */
  offsetHex(i: number, addr: Num): string {
    const a = this.addrNums[i]!;
    if (typeof addr === 'number' && a === a) {
      const d = addr - a;
      if (d >= 0 && d <= Number.MAX_SAFE_INTEGER) return d.toString(16);
    }
    return BigInt.asUintN(64, BigInt(addr) - this.addrs[i]!).toString(16);
  }

  /** Parses /proc/kallsyms text: "ADDR TYPE NAME[\t[MODULE]]"; absolute symbols and '$' names are skipped. */
  static fromKallsyms(text: string): KernelSymbols {
    // Addresses as 32-bit halves while reading (no bigint per line); sorted by index.
    const his: number[] = [];
    const los: number[] = [];
    const names: string[] = [];
    let p = 0;
    const n = text.length;
    while (p < n) {
      let e = text.indexOf('\n', p);
      if (e < 0) e = n;
      if (e > p) {
        let a = p;
        while (a < e && text.charCodeAt(a) === 32) a++;
        const sp1 = text.indexOf(' ', a);
        if (sp1 < 0 || sp1 > e || sp1 - a > 16 || sp1 === a || !/^[0-9a-fA-F]+$/.test(text.slice(a, sp1))) break; // libtraceevent stops at the first line it cannot read
        const type = text[sp1 + 1];
        let ns = sp1 + 2;
        while (ns < e && (text.charCodeAt(ns) === 32 || text.charCodeAt(ns) === 9)) ns++;
        let ne = ns;
        while (ne < e && text.charCodeAt(ne) > 32) ne++;
        if (ne === ns) break;
        if (text.charCodeAt(ns) !== 36 && type !== 'A' && type !== 'a') {
          const hex = text.slice(a, sp1);
          const cut = Math.max(0, hex.length - 8);
          his.push(cut ? parseInt(hex.slice(0, cut), 16) : 0);
          los.push(parseInt(hex.slice(cut), 16));
          names.push(text.slice(ns, ne));
        }
      }
      p = e + 1;
    }
    // libtraceevent prepends each symbol to a list, then sorts stably: equal addresses end up newest first.
    const order = Array.from({ length: names.length }, (_, i) => names.length - 1 - i);
    order.sort((x, y) => his[x]! - his[y]! || los[x]! - los[y]!);
    const addrs = new BigUint64Array(names.length + 1);
    const sorted = new Array<string>(names.length);
    for (let i = 0; i < order.length; i++) {
      const k = order[i]!;
      addrs[i] = (BigInt(his[k]!) << 32n) | BigInt(los[k]!);
      sorted[i] = names[k]!;
    }
    return new KernelSymbols(addrs, sorted);
  }

  static empty(): KernelSymbols {
    return new KernelSymbols(new BigUint64Array(1), []);
  }

  get size(): number {
    return this.names.length;
  }

  /** Index of the symbol containing addr (glibc bsearch over libtraceevent's comparison), or -1. */
  indexOf(addr: Num): number {
    const hit = this.cache.get(addr);
    if (hit !== undefined) return hit;
    const key = BigInt.asUintN(64, typeof addr === 'bigint' ? addr : BigInt(addr));
    const a = this.addrs;
    let l = 0;
    let u = this.names.length;
    let found = -1;
    while (l < u) {
      const idx = (l + u) >>> 1;
      const cur = a[idx]!;
      if (key === cur || (key > cur && key < a[idx + 1]!)) {
        found = idx;
        break;
      }
      if (key < cur) u = idx;
      else l = idx + 1;
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(addr, found);
    return found;
  }

  find(addr: Num): SymbolHit | undefined {
    const i = this.indexOf(addr);
    return i < 0 ? undefined : { name: this.names[i]!, addr: this.addrs[i]! };
  }

  nameAt(i: number): string {
    return this.names[i]!;
  }

  addrAt(i: number): bigint {
    return this.addrs[i]!;
  }

  /** The address of a symbol by name (first in address order), as libtraceevent's test_for_symbol. */
  addressOf(name: string): bigint | undefined {
    // A linear search: print formats name few symbols, and each result is kept by the caller.
    const i = this.names.indexOf(name);
    return i < 0 ? undefined : this.addrs[i];
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
