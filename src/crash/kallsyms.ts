// Decodes the kernel's compressed symbol table (kernel/kallsyms.c layout) straight from the dump.
import { KernelSymbols, type SymbolHit } from '../events/kallsyms.js';
import { dumpError } from './errors.js';
import type { X86Memory } from './x86_64.js';
import type { VmcoreInfo } from './vmcoreinfo.js';

export interface KSym { addr: bigint; type: string; name: string; module?: string }

/** The dump's symbols by name (absolute ones too: per-CPU offsets), and by address through their kallsyms text. */
export class SymbolTable {
  private byName = new Map<string, KSym>();
  private kallsyms?: string;
  private byAddr?: KernelSymbols;
  constructor(readonly syms: KSym[]) {
    for (const s of syms) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
  }
  get(name: string): KSym | undefined { return this.byName.get(name); }
  addr(name: string): bigint {
    const s = this.byName.get(name);
    if (!s) throw dumpError(`kernel symbol ${name} not found`, 'give the matching --system-map or --kernel (vmlinux) for this dump');
    return s.addr;
  }
  /**
   * The symbol containing addr, from the kallsyms text the recovered trace.dat carries: the summary
   * names addresses as a report of that file (lkst's or trace-cmd's) does.
   */
  lookup(addr: bigint): SymbolHit | undefined {
    return (this.byAddr ??= new KernelSymbols(this.text())).lookup(addr);
  }
  /** /proc/kallsyms text. */
  text(): string {
    return (this.kallsyms ??= this.syms.map((s) => `${s.addr.toString(16).padStart(16, '0')} ${s.type} ${s.name}${s.module ? `\t[${s.module}]` : ''}\n`).join(''));
  }
}

/** Reads a run of bytes whose end is unknown, in chunks. */
class Stream {
  private buf = Buffer.alloc(0);
  constructor(private mem: X86Memory, private at: bigint) {}
  byte(i: number): number {
    if (i >= this.buf.length) {
      // Twice as much each time: the copies add up to twice the table, not its square.
      const more = this.mem.read(this.at + BigInt(this.buf.length), Math.max(65536, this.buf.length));
      this.buf = Buffer.concat([this.buf, more]);
    }
    return this.buf[i];
  }
}

export function decodeKallsyms(mem: X86Memory, info: VmcoreInfo): SymbolTable {
  const sym = (n: string) => {
    const v = info.symbols.get(n);
    if (v === undefined) throw dumpError(`VMCOREINFO has no ${n}`, 'give --system-map or --kernel for this dump (the kernel is older than 6.0 or lacks kallsyms)');
    return v;
  };
  const num = mem.u32(sym('kallsyms_num_syms'));
  if (num === 0 || num > 2_000_000) throw dumpError(`implausible kallsyms_num_syms ${num}`, 'the dump does not match its VMCOREINFO; give --system-map');
  const tokenIndex = mem.read(sym('kallsyms_token_index'), 512);
  let maxIdx = 0;
  for (let i = 0; i < 256; i++) maxIdx = Math.max(maxIdx, tokenIndex.readUInt16LE(i * 2));
  const tokenTable = mem.read(sym('kallsyms_token_table'), maxIdx + 256);
  const tokens: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const o = tokenIndex.readUInt16LE(i * 2);
    const z = tokenTable.indexOf(0, o);
    tokens.push(tokenTable.subarray(o, z < 0 ? tokenTable.length : z));
  }
  const addrs = decodeAddresses(mem, info, num);
  const names = new Stream(mem, sym('kallsyms_names'));
  const syms: KSym[] = new Array(num);
  let p = 0;
  // Each name is spelled into one reused buffer and made a string once (adding token strings made
  // a chain of string pieces per symbol: garbage for 150,000 symbols).
  let spell = Buffer.allocUnsafe(1024);
  for (let i = 0; i < num; i++) {
    let len = names.byte(p++);
    if (len & 0x80) len = (len & 0x7f) | (names.byte(p++) << 7); // "big" symbols, since 6.1
    let n = 0;
    for (let k = 0; k < len; k++) {
      const t = tokens[names.byte(p++)]!;
      if (n + t.length > spell.length) spell = Buffer.concat([spell.subarray(0, n)], 2 * (n + t.length));
      n += t.copy(spell, n);
    }
    syms[i] = { addr: addrs[i], type: n ? spell.toString('latin1', 0, 1) : '', name: spell.toString('latin1', 1, Math.max(1, n)) };
  }
  const table = new SymbolTable(syms);
  // Cross-check against VMCOREINFO's own addresses: a wrong decoding must not go unnoticed.
  for (const name of ['_stext', 'init_uts_ns', 'kallsyms_names', 'init_top_pgt']) {
    const s = table.get(name);
    const addr = info.symbols.get(name);
    if (s && addr !== undefined && s.addr !== addr) {
      throw dumpError(`kallsyms decoding disagrees with VMCOREINFO for ${name}`, 'give --system-map or --kernel for this dump');
    }
  }
  return table;
}

function decodeAddresses(mem: X86Memory, info: VmcoreInfo, num: number): bigint[] {
  const out: bigint[] = new Array(num);
  const absAddrs = info.symbols.get('kallsyms_addresses');
  if (absAddrs !== undefined) {
    const b = mem.read(absAddrs, num * 8);
    for (let i = 0; i < num; i++) out[i] = b.readBigUInt64LE(i * 8);
    return out;
  }
  const offsAt = info.symbols.get('kallsyms_offsets');
  const baseAt = info.symbols.get('kallsyms_relative_base');
  if (offsAt === undefined || baseAt === undefined) throw dumpError('VMCOREINFO has no kallsyms_offsets', 'give --system-map or --kernel for this dump');
  const base = mem.u64(baseAt);
  const offs = mem.read(offsAt, num * 4);
  // With absolute per-CPU symbols (x86_64 SMP up to 6.14) every other symbol is stored negated.
  let anyNegative = false;
  for (let i = 0; i < num && !anyNegative; i++) anyNegative = offs.readInt32LE(i * 4) < 0;
  for (let i = 0; i < num; i++) {
    if (anyNegative) {
      const o = offs.readInt32LE(i * 4);
      out[i] = o >= 0 ? BigInt(o) : base - 1n - BigInt(o);
    } else {
      out[i] = base + BigInt(offs.readUInt32LE(i * 4));
    }
  }
  return out;
}
