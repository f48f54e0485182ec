// ELF vmcore (kdump's /proc/vmcore, QEMU dump-guest-memory): PT_LOAD segments map physical memory.
import { dumpError } from './errors.js';
import type { RandomAccess } from './file-io.js';
import type { PhysMemory } from './physmem.js';

const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PN_XNUM = 0xffff;

export interface Segment { paddr: number; fileOff: number; fileSize: number; memSize: number }
/** A stretch of physical memory no other piece overlaps, and the segment that supplies it. */
export interface Piece { start: number; end: number; seg: Segment }

export interface ElfNote { name: string; type: number; desc: Buffer }

export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46;
}

const MACHINES: Record<number, string> = { 3: 'i386', 40: 'arm', 183: 'aarch64', 21: 'ppc64', 22: 's390', 243: 'riscv' };

export class ElfDump implements PhysMemory {
  readonly format = 'elf';
  readonly vmcoreinfo?: string;
  readonly maxAddress: number;
  readonly notes: ElfNote[] = [];
  lastMiss = '';
  private pieces: Piece[] = [];

  constructor(private file: RandomAccess) {
    const h = file.read(0, 64);
    if (h.length < 64 || !isElf(h)) throw dumpError('not an ELF file', 'give an ELF vmcore, a kdump-compressed dump or a raw memory image');
    if (h[4] !== 2) throw dumpError('32-bit ELF dump', 'lkst recovers x86_64 dumps only');
    if (h[5] !== 1) throw dumpError('big-endian ELF dump', 'lkst recovers x86_64 dumps only');
    const machine = h.readUInt16LE(18);
    if (machine !== EM_X86_64) {
      throw dumpError(`dump of another architecture (${MACHINES[machine] ?? `ELF machine ${machine}`})`, 'lkst recovers x86_64 dumps only');
    }
    if (h.readUInt16LE(16) !== 4) throw dumpError('this ELF file is not a core dump (a vmlinux?)', 'give a vmcore as DUMP; a vmlinux goes to --kernel');
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    let phnum = h.readUInt16LE(56);
    if (phnum === PN_XNUM) {
      const shoff = Number(h.readBigUInt64LE(40));
      const sh0 = file.read(shoff, 64);
      if (sh0.length < 48) throw dumpError('truncated ELF dump (no section header 0)', 'recover from a complete copy of the dump');
      phnum = sh0.readUInt32LE(44);
    }
    // Checked before reading: a corrupt count or entry size must not read past an entry or allocate the dump.
    if (phentsize < 56 || phnum * phentsize > MAX_HEADERS) throw dumpError(`corrupt ELF dump (${phnum} program headers of ${phentsize} bytes)`, 'recover from an intact copy of the dump');
    const ph = file.read(phoff, phnum * phentsize);
    if (ph.length < phnum * phentsize) throw dumpError('truncated ELF dump (program headers cut off)', 'recover from a complete copy of the dump');
    let max = 0;
    const segs: Segment[] = [];
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      const fileOff = Number(ph.readBigUInt64LE(o + 8));
      const fileSize = Number(ph.readBigUInt64LE(o + 32));
      if (type === PT_LOAD) {
        const seg = { paddr: Number(ph.readBigUInt64LE(o + 24)), fileOff, fileSize, memSize: Number(ph.readBigUInt64LE(o + 40)) };
        if (seg.memSize > 0) segs.push(seg);
        max = Math.max(max, seg.paddr + seg.memSize);
      } else if (type === PT_NOTE) {
        if (fileSize > MAX_HEADERS) throw dumpError(`corrupt ELF dump (a note segment of ${fileSize} bytes)`, 'recover from an intact copy of the dump');
        this.parseNotes(file.read(fileOff, fileSize));
      }
    }
    this.pieces = resolveOverlaps(segs);
    this.maxAddress = max;
    const vi = this.notes.find((n) => n.name === 'VMCOREINFO');
    if (vi) this.vmcoreinfo = vi.desc.toString('latin1').replace(/\0+$/, '');
  }

  private parseNotes(b: Buffer): void {
    let o = 0;
    while (o + 12 <= b.length) {
      const namesz = b.readUInt32LE(o);
      const descsz = b.readUInt32LE(o + 4);
      const type = b.readUInt32LE(o + 8);
      const nameOff = o + 12;
      // Sizes are unsigned and checked before aligning: a bitwise align of 2^31 or more wraps negative.
      if (namesz > b.length - nameOff) break;
      const descOff = nameOff + align4(namesz);
      if (descsz > b.length - descOff) break;
      const name = b.toString('latin1', nameOff, nameOff + namesz).replace(/\0+$/, '');
      this.notes.push({ name, type, desc: b.subarray(descOff, descOff + descsz) });
      o = descOff + align4(descsz);
    }
  }

  private find(paddr: number): Piece | undefined {
    let lo = 0, hi = this.pieces.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = this.pieces[mid];
      if (paddr < p.start) hi = mid - 1;
      else if (paddr >= p.end) lo = mid + 1;
      else return p;
    }
    return undefined;
  }

  read(paddr: number, len: number): Buffer | undefined {
    const first = this.find(paddr);
    // The common case, one piece with all of it in the file: the file's buffer as it is, no copy.
    if (first && paddr + len <= first.end && paddr + len <= first.seg.paddr + first.seg.fileSize) {
      const b = this.file.read(first.seg.fileOff + (paddr - first.seg.paddr), len);
      if (b.length === len) return b;
      this.lastMiss = 'truncated';
      return undefined;
    }
    const out = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const a = paddr + done;
      const p = this.find(a);
      if (!p) { this.lastMiss = 'not in dump'; return undefined; }
      const s = p.seg;
      const n = Math.min(len - done, p.end - a);
      const inFile = Math.max(0, Math.min(n, s.paddr + s.fileSize - a));
      if (inFile > 0) {
        const chunk = this.file.read(s.fileOff + (a - s.paddr), inFile);
        if (chunk.length < inFile) { this.lastMiss = 'truncated'; return undefined; }
        chunk.copy(out, done);
      }
      done += n; // bytes past p_filesz are zero by ELF rules
    }
    return out;
  }

  ranges(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const { start, end, seg } of this.pieces) {
      const e = Math.min(end, seg.paddr + Math.max(0, this.file.size - seg.fileOff));
      if (e <= start) continue;
      const last = out[out.length - 1];
      if (last && last[1] === start) last[1] = e; else out.push([start, e]);
    }
    return out;
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Splits overlapping PT_LOAD segments into disjoint pieces, each taken from the first segment in
 * program-header order that covers it (its zero-filled tail past p_filesz included). This is the
 * rule of crash (netdump.c read_netdump: the first pt_load_segment whose range holds the address)
 * and makedumpfile (paddr_to_offset). Overlaps are normal: kexec's /proc/vmcore has a kernel-text
 * segment inside a RAM segment, and QEMU's paging dumps have one segment per virtual mapping, so
 * physical memory mapped twice (direct map and kernel text, vmalloc) appears in several segments.
 */
export function resolveOverlaps(segs: Segment[]): Piece[] {
  const byStart = segs.map((_, i) => i).sort((a, b) => segs[a].paddr - segs[b].paddr);
  const bounds = [...new Set(segs.flatMap((s) => [s.paddr, s.paddr + s.memSize]))].sort((a, b) => a - b);
  const active = new MinHeap();
  const out: Piece[] = [];
  let next = 0;
  for (let b = 0; b + 1 < bounds.length; b++) {
    const start = bounds[b], end = bounds[b + 1];
    while (next < byStart.length && segs[byStart[next]].paddr <= start) active.push(byStart[next++]);
    // Segments that ended stay in the heap until they reach its top: only the top decides.
    while (active.size && segs[active.top()].paddr + segs[active.top()].memSize <= start) active.pop();
    if (!active.size) continue;
    const seg = segs[active.top()];
    const last = out[out.length - 1];
    if (last && last.seg === seg && last.end === start) last.end = end;
    else out.push({ start, end, seg });
  }
  return out;
}

/** Segment indexes, smallest (earliest program header) on top. */
class MinHeap {
  private a: number[] = [];
  get size(): number { return this.a.length; }
  top(): number { return this.a[0]; }
  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }
  pop(): void {
    const a = this.a;
    const v = a.pop()!;
    if (!a.length) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= a.length) break;
      if (c + 1 < a.length && a[c + 1] < a[c]) c++;
      if (a[c] >= v) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = v;
  }
}

/** Program headers and notes are a few KiB to a few MiB; more is a corrupt size. */
const MAX_HEADERS = 64 << 20;

function align4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
