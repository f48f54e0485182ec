/**
 * Function symbols of an ELF file (a program or a shared library) and the file offset a uprobe
 * takes for each: the kernel's uprobe_events wants PATH:OFFSET, the offset in the file of the
 * instruction, which is the symbol's address less its loadable segment's address plus that segment's
 * file offset (Documentation/trace/uprobetracer.rst). Reads .symtab and .dynsym (stripped files keep
 * only .dynsym); 64-bit little-endian ELF only, every size checked against the file first.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LkstError } from '../base/errors.js';

export interface ElfFunction {
  name: string;
  /** Virtual address as linked. */
  address: bigint;
  size: number;
  /** Offset in the file: what uprobe_events takes. */
  fileOffset: bigint;
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const PT_LOAD = 1;
const PF_X = 1;
/** Symbol tables beyond this are refused (libc's are ~0.1 MB). */
const MAX_TABLE = 256 << 20;

function readAt(fd: number, size: number, off: number, len: number, what: string, path: string): Buffer {
  if (off < 0 || len < 0 || off + len > size) throw new LkstError(`${path}: its ELF ${what} lies outside the file`, 'give an intact ELF program or library');
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, off + got);
    if (n === 0) break;
    got += n;
  }
  return b;
}

/** Every function symbol (defined, non-zero address) of an ELF file, by name (the first definition wins). */
export function elfFunctions(path: string): Map<string, ElfFunction> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new LkstError(`cannot open ${path} (${(err as NodeJS.ErrnoException).code ?? err})`, 'give the path of a program or library');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LkstError(`${path} is not a regular file`, 'give the path of a program or library');
    const size = st.size;
    const eh = readAt(fd, size, 0, Math.min(64, size), 'header', path);
    if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46) throw new LkstError(`${path} is not an ELF file`, 'probes go on programs and libraries (ELF)');
    if (eh[4] !== 2 || eh[5] !== 1) throw new LkstError(`${path} is not a 64-bit little-endian ELF file`, 'lkst probes x86_64 programs');
    const phoff = Number(eh.readBigUInt64LE(32));
    const shoff = Number(eh.readBigUInt64LE(40));
    const phentsize = eh.readUInt16LE(54);
    const phnum = eh.readUInt16LE(56);
    const shentsize = eh.readUInt16LE(58);
    const shnum = eh.readUInt16LE(60);
    const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
    if (phentsize < 56 && phnum) throw new LkstError(`${path}: program header entries of ${phentsize} bytes`, 'give an intact ELF file');
    const ph = readAt(fd, size, phoff, phnum * phentsize, 'program headers', path);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (ph.readUInt32LE(o) === PT_LOAD && ph.readUInt32LE(o + 4) & PF_X) loads.push({ offset: ph.readBigUInt64LE(o + 8), vaddr: ph.readBigUInt64LE(o + 16), filesz: ph.readBigUInt64LE(o + 32) });
    }
    if (shentsize < 64 && shnum) throw new LkstError(`${path}: section header entries of ${shentsize} bytes`, 'give an intact ELF file');
    const sh = readAt(fd, size, shoff, shnum * shentsize, 'section headers', path);
    const out = new Map<string, ElfFunction>();
    for (const want of [SHT_SYMTAB, SHT_DYNSYM]) {
      for (let i = 0; i < shnum; i++) {
        const o = i * shentsize;
        if (sh.readUInt32LE(o + 4) !== want) continue;
        const off = Number(sh.readBigUInt64LE(o + 24));
        const len = Number(sh.readBigUInt64LE(o + 32));
        const link = sh.readUInt32LE(o + 40);
        const entsize = Number(sh.readBigUInt64LE(o + 56)) || 24;
        if (len > MAX_TABLE || link >= shnum || entsize < 24) throw new LkstError(`${path}: a symbol table of ${len} bytes or a bad string table`, 'give an intact ELF file');
        const syms = readAt(fd, size, off, len, 'symbol table', path);
        const so = link * shentsize;
        const strLen = Number(sh.readBigUInt64LE(so + 32));
        if (strLen > MAX_TABLE) throw new LkstError(`${path}: a string table of ${strLen} bytes`, 'give an intact ELF file');
        const strs = readAt(fd, size, Number(sh.readBigUInt64LE(so + 24)), strLen, 'string table', path);
        for (let s = 0; s + entsize <= syms.length; s += entsize) {
          const type = syms[s + 4]! & 0xf;
          const shndx = syms.readUInt16LE(s + 6);
          const value = syms.readBigUInt64LE(s + 8);
          if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || shndx === 0 || value === 0n) continue;
          const nameOff = syms.readUInt32LE(s);
          if (nameOff >= strs.length) continue;
          const end = strs.indexOf(0, nameOff);
          const name = strs.toString('latin1', nameOff, end < 0 ? strs.length : end);
          if (!name || out.has(name)) continue;
          const seg = loads.find((l) => value >= l.vaddr && value < l.vaddr + l.filesz);
          if (!seg) continue;
          out.set(name, { name, address: value, size: Number(syms.readBigUInt64LE(s + 16)), fileOffset: value - seg.vaddr + seg.offset });
        }
      }
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
