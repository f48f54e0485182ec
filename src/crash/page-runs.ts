// A CPU's ring-buffer pages read in runs: the kernel allocates them one after another, so in
// reading order they mostly lie next to each other in physical memory (descending, on the 6.1
// dumps measured). One read of the dump then serves dozens of pages instead of one each.
import { X86Memory } from './x86_64.js';

/** Pages per read at most (256 KiB of 4 KiB pages): what a sequential pass holds at a time. */
const RUN_PAGES = 64;
const PAGE = 4096;

/** Pages first..first+count-1, physically from base on; buf holds them unless they are read one by one. */
interface Run { first: number; count: number; base: number; buf?: Buffer }

export class PageRuns {
  private slot = new Map<bigint, number>();
  private phys: Array<number | undefined> = [];
  private run?: Run;

  /** vas: the pages' kernel addresses in the order they will mostly be read. */
  constructor(private mem: X86Memory, private vas: readonly bigint[], private pageSize: number) {
    vas.forEach((va, i) => { if (!this.slot.has(va)) this.slot.set(va, i); });
  }

  /** The page at va, undefined when the dump lacks any of it (mem.tryRead says why). */
  tryRead(va: bigint): Buffer | undefined {
    const i = X86Memory.keepPages ? this.slot.get(va) : undefined;
    if (i === undefined) return this.mem.tryRead(va, this.pageSize);
    const r = this.run && i >= this.run.first && i < this.run.first + this.run.count ? this.run : this.load(i);
    if (!r?.buf) return this.mem.tryRead(va, this.pageSize);
    const at = this.physOf(i)! - r.base;
    return r.buf.subarray(at, at + this.pageSize);
  }

  /** As tryRead, throwing as X86Memory.read does when the dump lacks the page. */
  read(va: bigint): Buffer {
    return this.tryRead(va) ?? this.mem.read(va, this.pageSize);
  }

  /**
   * The run of physically adjacent pages (either direction) from page i: read at once, or, from a
   * dump that keeps its pages itself (kdump), made ready there and read page by page. A run the
   * dump cannot give whole is read page by page, so each missing page is told apart.
   */
  private load(i: number): Run | undefined {
    const start = this.physOf(i);
    if (start === undefined) return undefined;
    let step = 0;
    let count = 1;
    for (let prev = start; count < RUN_PAGES && i + count < this.vas.length; count++) {
      const pa = this.physOf(i + count);
      if (pa === undefined) break;
      if (!step && Math.abs(pa - prev) === this.pageSize) step = pa - prev;
      if (!step || pa !== prev + step) break;
      prev = pa;
    }
    const base = step < 0 ? start + step * (count - 1) : start;
    const phys = this.mem.phys;
    // In reading order: a dump keeping pages keeps them in that order, so a run is one piece of its memory.
    if (phys.prefetch) phys.prefetch(Array.from({ length: count }, (_, k) => start + step * k), this.pageSize);
    const buf = phys.prefetch ? undefined : phys.read(base, count * this.pageSize);
    this.run = { first: i, count, base, buf };
    return this.run;
  }

  /** Physical address of page i when all of it is physically contiguous. */
  private physOf(i: number): number | undefined {
    if (i in this.phys) return this.phys[i];
    const va = this.vas[i]!;
    let pa = this.mem.translate(va);
    for (let off = PAGE; pa !== undefined && off < this.pageSize; off += PAGE) {
      if (this.mem.translate(va + BigInt(off)) !== pa + off) pa = undefined;
    }
    this.phys[i] = pa;
    return pa;
  }
}
