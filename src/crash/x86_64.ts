// Kernel virtual → physical on x86_64: the kernel-image mapping by arithmetic, everything else
// (direct map, vmalloc, modules, per-CPU areas) by walking the kernel's own page tables (4 or 5 levels).
import { dumpError, MissingMemoryError } from './errors.js';
import type { PhysMemory } from './physmem.js';
import type { VmcoreInfo } from './vmcoreinfo.js';

const START_KERNEL_MAP = 0xffffffff80000000n;
const PTE_ADDR = 0x000ffffffffff000n;
const PRESENT = 1n;
const HUGE = 0x80n;
const PAGE = 4096;
/** The largest kernel object lkst reads at once (BTF is a few MiB, kallsyms tables less). */
export const MAX_KERNEL_READ = 64 << 20;
/** Page-table pages kept (16 MiB): a kernel's tables for its direct map and vmalloc are far fewer. */
const TABLE_CACHE = 4096;
/** Pages kept for small reads (4 MiB): ring-buffer page descriptors sit dozens to a page. */
const SMALL_CACHE = 1024;

export class X86Memory {
  /**
   * Whether page-table pages, pages small reads come from, and runs of ring pages are read whole
   * and kept. Off, every read the readers make reaches the dump as it is (the fuzz test learns
   * where in a dump they parse that way).
   */
  static keepPages = true;
  readonly levels: 4 | 5;
  readonly physBase: bigint;
  readonly kernelImageSize: bigint;
  private root: bigint;
  private addrMask: bigint;
  private tlb = new Map<bigint, number>();
  /** Page-table pages by physical address: each ring page's first translation walks them again. */
  private tables = new Map<number, Buffer | null>();
  /** Whole pages that small reads came from, oldest dropped first. */
  private pages = new Map<number, Buffer | null>();
  /** Why the last tryRead failed: the first page of a range may be present and a later one not. */
  private miss = '';

  constructor(readonly phys: PhysMemory, info: VmcoreInfo) {
    const pgt = info.symbols.get('init_top_pgt') ?? info.symbols.get('swapper_pg_dir');
    const physBase = info.numbers.get('phys_base');
    if (pgt === undefined || physBase === undefined) {
      throw dumpError('VMCOREINFO lacks init_top_pgt or phys_base', 'this is not an x86_64 Linux dump, or its VMCOREINFO is damaged');
    }
    this.physBase = physBase;
    this.levels = info.numbers.get('pgtable_l5_enabled') === 1n ? 5 : 4;
    this.kernelImageSize = info.numbers.get('KERNEL_IMAGE_SIZE') ?? 0x40000000n;
    this.addrMask = PTE_ADDR & ~(info.numbers.get('sme_mask') ?? 0n);
    this.root = pgt - START_KERNEL_MAP + physBase;
  }

  /** Physical address of a kernel virtual address, or undefined if unmapped. */
  translate(va: bigint): number | undefined {
    if (va >= START_KERNEL_MAP && va < START_KERNEL_MAP + this.kernelImageSize) return Number(va - START_KERNEL_MAP + this.physBase);
    const vpage = va >> 12n;
    const hit = this.tlb.get(vpage);
    if (hit !== undefined) return hit + Number(va & 0xfffn);
    let table = this.root;
    for (let level: number = this.levels; level >= 1; level--) {
      const shift = BigInt(12 + 9 * (level - 1));
      const idx = Number((va >> shift) & 511n);
      const e = this.entry(Number(table), idx);
      if (e === undefined) return undefined;
      if (!(e & PRESENT)) return undefined;
      if ((level === 2 || level === 3) && e & HUGE) {
        const size = 1n << shift;
        const base = e & this.addrMask & ~(size - 1n);
        const pa = Number(base + (va & (size - 1n)));
        this.remember(vpage, pa - Number(va & 0xfffn));
        return pa;
      }
      table = e & this.addrMask;
    }
    this.remember(vpage, Number(table));
    return Number(table) + Number(va & 0xfffn);
  }

  private entry(table: number, idx: number): bigint | undefined {
    let t = X86Memory.keepPages ? this.tables.get(table) : null;
    if (t === undefined) {
      if (this.tables.size >= TABLE_CACHE) this.tables.clear();
      // A table page the dump lacks as a whole may still have the one entry (an odd segment edge).
      t = this.phys.read(table, PAGE) ?? null;
      this.tables.set(table, t);
    }
    if (t) return t.readBigUInt64LE(idx * 8);
    return this.phys.read(table + idx * 8, 8)?.readBigUInt64LE(0);
  }

  private remember(vpage: bigint, pa: number): void {
    if (this.tlb.size > 65536) this.tlb.clear();
    this.tlb.set(vpage, pa);
  }

  /** Reads kernel virtual memory page by page; undefined when any page is unmapped or missing. */
  tryRead(va: bigint, len: number): Buffer | undefined {
    // Lengths come from counts and bounds in the dump: a corrupt one must not allocate or walk gigabytes.
    if (!Number.isSafeInteger(len) || len < 0 || len > MAX_KERNEL_READ) {
      throw dumpError(`implausible length ${len} for a read at 0x${va.toString(16)} (a corrupt count or bound in the dump)`, 'the kernel state is damaged here; recover from an intact copy of the dump');
    }
    if (len > 0 && len < PAGE && X86Memory.keepPages) {
      const hit = this.small(va, len);
      if (hit) return hit;
    }
    let out: Buffer | undefined;
    let done = 0;
    while (done < len) {
      const a = va + BigInt(done);
      const pa = this.translate(a);
      if (pa === undefined) { this.miss = 'address not mapped'; return undefined; }
      const n = Math.min(len - done, PAGE - (pa % PAGE));
      const b = this.phys.read(pa, n);
      if (!b) { this.miss = this.phys.lastMiss || 'not in dump'; return undefined; }
      if (n === len) return b; // within one page: the dump's buffer as it is, no copy
      out ??= Buffer.allocUnsafe(len);
      b.copy(out, done);
      done += n;
    }
    return out ?? Buffer.alloc(0);
  }

  /**
   * A read inside one page, served from the whole page kept (one read of the dump for the dozens of
   * struct fields and list links on it); undefined when it crosses a page or the page is not whole.
   */
  private small(va: bigint, len: number): Buffer | undefined {
    const pa = this.translate(va);
    if (pa === undefined) return undefined;
    const off = pa % PAGE;
    if (off + len > PAGE) return undefined;
    const base = pa - off;
    let page = this.pages.get(base);
    if (page === undefined) {
      if (this.pages.size >= SMALL_CACHE) this.pages.delete(this.pages.keys().next().value as number);
      page = this.phys.read(base, PAGE) ?? null;
      this.pages.set(base, page);
    }
    return page?.subarray(off, off + len);
  }

  read(va: bigint, len: number): Buffer {
    const b = this.tryRead(va, len);
    if (!b) throw new MissingMemoryError(va, this.miss);
    return b;
  }

  u64(va: bigint): bigint { return this.read(va, 8).readBigUInt64LE(0); }
  u32(va: bigint): number { return this.read(va, 4).readUInt32LE(0); }
  i32(va: bigint): number { return this.read(va, 4).readInt32LE(0); }

  /** A NUL-terminated string of at most max bytes. */
  cstring(va: bigint, max = 256): string {
    let s = '';
    for (let got = 0; got < max;) {
      const n = Math.min(max - got, PAGE - Number((va + BigInt(got)) & 0xfffn));
      const b = this.read(va + BigInt(got), n);
      const z = b.indexOf(0);
      if (z >= 0) return s + b.toString('latin1', 0, z);
      s += b.toString('latin1');
      got += n;
    }
    return s;
  }
}
