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
  private readonly names: string[];
  private readonly cache = new Map<Num, number>();

  private constructor(addrs: BigUint64Array, names: string[]) {
    this.addrs = addrs;
    this.names = names;
  }

  /** Parses /proc/kallsyms text: "ADDR TYPE NAME[\t[MODULE]]"; absolute symbols and '$' names are skipped. */
  static fromKallsyms(text: string): KernelSymbols {
    const entries: { addr: bigint; name: string; seq: number }[] = [];
    let seq = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const m = /^\s*([0-9a-fA-F]{1,16})\s+(\S)\s+(\S+)/.exec(line);
      if (!m) break; // libtraceevent stops at the first line it cannot read
      const type = m[2]!;
      const name = m[3]!;
      if (name[0] === '$' || type === 'A' || type === 'a') continue;
      // libtraceevent prepends each symbol to a list, then sorts stably: equal addresses end up newest first.
      entries.push({ addr: BigInt('0x' + m[1]), name, seq: -seq++ });
    }
    entries.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.seq - b.seq));
    const addrs = new BigUint64Array(entries.length + 1);
    const names = new Array<string>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      addrs[i] = entries[i]!.addr;
      names[i] = entries[i]!.name;
    }
    return new KernelSymbols(addrs, names);
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
  return name + '+0x' + BigInt.asUintN(64, BigInt(addr) - syms.addrAt(i)).toString(16);
}
