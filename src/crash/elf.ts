// ELF vmcore (kdump's /proc/vmcore, QEMU dump-guest-memory): PT_LOAD segments map physical memory.
import { dumpError } from './errors.js';
import type { RandomAccess } from './file-io.js';
import type { PhysMemory } from './physmem.js';

const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PN_XNUM = 0xffff;

interface Segment { paddr: number; fileOff: number; fileSize: number; memSize: number }

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
  private segs: Segment[] = [];

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
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      const fileOff = Number(ph.readBigUInt64LE(o + 8));
      const fileSize = Number(ph.readBigUInt64LE(o + 32));
      if (type === PT_LOAD) {
        const seg = { paddr: Number(ph.readBigUInt64LE(o + 24)), fileOff, fileSize, memSize: Number(ph.readBigUInt64LE(o + 40)) };
        this.segs.push(seg);
        max = Math.max(max, seg.paddr + seg.memSize);
      } else if (type === PT_NOTE) {
        if (fileSize > MAX_HEADERS) throw dumpError(`corrupt ELF dump (a note segment of ${fileSize} bytes)`, 'recover from an intact copy of the dump');
        this.parseNotes(file.read(fileOff, fileSize));
      }
    }
    this.segs.sort((a, b) => a.paddr - b.paddr);
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

  private find(paddr: number): Segment | undefined {
    let lo = 0, hi = this.segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segs[mid];
      if (paddr < s.paddr) hi = mid - 1;
      else if (paddr >= s.paddr + s.memSize) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  read(paddr: number, len: number): Buffer | undefined {
    const out = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const a = paddr + done;
      const s = this.find(a);
      if (!s) { this.lastMiss = 'not in dump'; return undefined; }
      const n = Math.min(len - done, s.paddr + s.memSize - a);
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
    return this.segs.map((s) => [s.paddr, s.paddr + Math.min(s.memSize, Math.max(0, this.file.size - s.fileOff))]);
  }

  close(): void {
    this.file.close();
  }
}

/** Program headers and notes are a few KiB to a few MiB; more is a corrupt size. */
const MAX_HEADERS = 64 << 20;

function align4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
