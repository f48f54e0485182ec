// The dead kernel as objects: memory + symbols + BTF, with struct fields read by name.
import type { Btf } from './btf.js';
import { dumpError } from './errors.js';
import type { SymbolTable } from './kallsyms.js';
import type { VmcoreInfo } from './vmcoreinfo.js';
import type { X86Memory } from './x86_64.js';

export class Kernel {
  constructor(readonly mem: X86Memory, readonly syms: SymbolTable, readonly btf: Btf, readonly info: VmcoreInfo) {}

  obj(addr: bigint, struct: string): KObj {
    if (addr === 0n) throw dumpError(`NULL struct ${struct} pointer in the dump`, 'the kernel state is damaged here; nothing more can be recovered from this object');
    return new KObj(this, addr, struct, this.mem.read(addr, this.btf.structSize(struct)));
  }

  /** Addresses of the objects on a list_head list, via the member path of their list_head. */
  listEntries(head: bigint, struct: string, member: string, limit = 1_000_000): bigint[] {
    const off = BigInt(this.btf.field(struct, member).offset);
    const out: bigint[] = [];
    const seen = new Set<bigint>();
    let p = this.mem.u64(head);
    while (p !== head) {
      if (p === 0n || seen.has(p) || out.length >= limit) {
        throw dumpError(`broken list at 0x${head.toString(16)} (${struct}.${member})`, 'the kernel state is damaged; recovered what came before the break');
      }
      seen.add(p);
      out.push(p - off);
      p = this.mem.u64(p);
    }
    return out;
  }

  /** Number of possible CPUs (nr_cpu_ids) and each one's per-CPU offset. */
  perCpuOffsets(): bigint[] {
    const n = this.mem.u32(this.syms.addr('nr_cpu_ids'));
    const b = this.mem.read(this.syms.addr('__per_cpu_offset'), n * 8);
    return Array.from({ length: n }, (_, i) => b.readBigUInt64LE(i * 8));
  }
}

export class KObj {
  constructor(readonly k: Kernel, readonly addr: bigint, readonly struct: string, private buf: Buffer) {}

  /** Address of a member (for embedded structs and list heads). */
  at(path: string): bigint {
    return this.addr + BigInt(this.k.btf.field(this.struct, path).offset);
  }

  /** An integer member of any size, bitfields and one-member wrappers (local_t, atomic_t) included. */
  num(path: string): bigint {
    const f = this.k.btf.field(this.struct, path);
    const size = f.bitSize ? Math.ceil((f.bitOffset + f.bitSize) / 8) : f.size;
    let v = 0n;
    for (let i = Math.min(size, 8) - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.buf[f.offset + i]);
    if (f.bitSize) return (v >> BigInt(f.bitOffset)) & ((1n << BigInt(f.bitSize)) - 1n);
    if (this.k.btf.isSigned(f.type) && size < 8 && v >> BigInt(size * 8 - 1)) v -= 1n << BigInt(size * 8);
    if (size === 8 && this.k.btf.isSigned(f.type)) v = BigInt.asIntN(64, v);
    return v;
  }

  int(path: string): number {
    return Number(this.num(path));
  }

  ptr(path: string): bigint {
    return this.buf.readBigUInt64LE(this.k.btf.field(this.struct, path).offset);
  }

  /** A char * member's string, or undefined for NULL. */
  str(path: string, max = 256): string | undefined {
    const p = this.ptr(path);
    return p === 0n ? undefined : this.k.mem.cstring(p, max);
  }

  obj(path: string, struct: string): KObj {
    return this.k.obj(this.ptr(path), struct);
  }
}
