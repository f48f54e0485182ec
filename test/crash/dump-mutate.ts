/**
 * Seeded mutations of a real crash dump, aimed at the bytes the readers parse. Where they parse is
 * learnt from a clean recovery: every file range read while opening the dump (ELF header, program
 * headers, notes with VMCOREINFO; kdump header, bitmaps, flattened records), while reading the
 * kernel (page tables, kallsyms, BTF, trace arrays) and while walking the ring buffers (per-CPU
 * structures, buffer pages, their data). A case rewrites a window of one working copy and puts the
 * original bytes back after, so a 256 MiB dump costs a few KiB of I/O per case.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { FileAccess, type RandomAccess } from '../../src/crash/file-io.js';
import { listTraceArrays } from '../../src/crash/ftrace.js';
import { openDumpAccess } from '../../src/crash/open.js';
import { openKernel } from '../../src/crash/recover.js';
import { readRingBuffer } from '../../src/crash/ringbuffer.js';
import { X86Memory } from '../../src/crash/x86_64.js';
import { mutate } from '../file/mutate.js';

/** File ranges [offset, length] the readers read, by what they hold. */
export interface DumpTargets {
  size: number;
  container: Array<[number, number]>;
  kernel: Array<[number, number]>;
  ringbuf: Array<[number, number]>;
  /** Physical address and length of every ring-buffer data page, for reading them without the kernel. */
  ringPages: Array<[number, number]>;
}

/** A window larger than this is cut to a random piece of WINDOW bytes (mutate aims at a window's start and end). */
const WINDOW = 4096;
const MAX_WHOLE = 65536;
/** mutate writes 8-byte words: a 4-byte field is mutated with its neighbour. */
const MIN_WINDOW = 8;

function distinct(log: Array<[number, number]>): Array<[number, number]> {
  const seen = new Map<string, [number, number]>();
  for (const [o, n] of log) if (n > 0) seen.set(`${o}:${n}`, [o, n]);
  return [...seen.values()];
}

/** Opens the dump with every file read logged, reads its kernel and ring buffers, and returns the ranges read per phase. */
export function findTargets(path: string): DumpTargets {
  const file = new FileAccess(path);
  const log: Array<[number, number]> = [];
  const logged: RandomAccess = {
    size: file.size,
    read: (off, len) => {
      log.push([off, len]);
      return file.read(off, len);
    },
    close: () => file.close(),
  };
  const mem = openDumpAccess(logged, path);
  // Each read as the readers make it, not the whole pages they are served from.
  X86Memory.keepPages = false;
  try {
    const container = distinct(log.splice(0));
    const k = openKernel(mem);
    const arrays = listTraceArrays(k);
    const kernel = distinct(log.splice(0));
    const ringPages: Array<[number, number]> = [];
    for (const tr of arrays) {
      const rb = readRingBuffer(k, tr.buffer);
      for (const c of rb.cpus) {
        for (let i = 0; i < c.pageCount; i++) {
          c.page(i);
          ringPages.push([k.mem.translate(c.pageAddrs[i]!)!, rb.pageSize]);
        }
      }
    }
    return { size: file.size, container, kernel, ringbuf: distinct(log.splice(0)), ringPages };
  } finally {
    X86Memory.keepPages = true;
    mem.close();
  }
}

export interface DumpMutation {
  how: string;
  /** The copy's bytes from here to `to` differ from the original (or are cut off). */
  from: number;
  to: number;
  /** A cut early in the dump is a new file of this many original bytes instead (cheaper than restoring the rest). */
  prefix?: number;
}

/** Where cases aim, in tenths: the file's structure, the kernel's structures, the ring buffers, anywhere. */
export interface Aim { container: number; kernel: number; ringbuf: number }

/**
 * A range of a length chosen first: one kind of structure is not drowned by another read thousands
 * of times (a flattened dump's 16-byte record headers, the kernel's 8-byte pointers).
 */
function pickRange(list: Array<[number, number]>, r: (n: number) => number): [number, number] {
  const lengths = [...new Set(list.map(([, n]) => n))];
  const len = lengths[r(lengths.length)];
  const same = list.filter(([, n]) => n === len);
  return same[r(same.length)]!;
}

/** Picks a window the readers parse (tenths by aim, the rest anywhere) and mutates it in the copy (fd). */
export function mutateDump(t: DumpTargets, aim: Aim, orig: number, work: number, r: (n: number) => number): DumpMutation {
  const pick = r(10);
  const where = pick < aim.container ? 'container' : pick < aim.container + aim.kernel ? 'kernel' : pick < aim.container + aim.kernel + aim.ringbuf ? 'ringbuf' : 'anywhere';
  const list = where === 'anywhere' ? [] : t[where];
  let [off, len] = list.length ? pickRange(list, r) : [0, t.size];
  off = Math.min(off, t.size);
  len = Math.min(Math.max(len, MIN_WINDOW), t.size - off);
  if (len > MAX_WHOLE) {
    off += r(len - WINDOW);
    len = WINDOW;
  }
  const window = Buffer.alloc(len);
  readSync(orig, window, 0, len, off);
  const m = mutate(window, r);
  const how = `${where} window ${off}+${len}: ${m.how}`;
  if (m.how.startsWith('truncate')) {
    const cut = off + m.bytes.length;
    if (cut < t.size / 2) return { how, from: 0, to: 0, prefix: cut };
    ftruncateSync(work, cut);
    return { how, from: cut, to: t.size };
  }
  writeSync(work, m.bytes, 0, m.bytes.length, off);
  return { how, from: off, to: off + m.bytes.length };
}

/** The first n bytes of the original as a file of their own. */
export function writePrefix(orig: number, path: string, n: number): void {
  const fd = openSync(path, 'w');
  try {
    copyRange(orig, fd, 0, n);
  } finally {
    closeSync(fd);
  }
}

function copyRange(from: number, to: number, start: number, end: number): void {
  const chunk = Buffer.alloc(1 << 20);
  for (let o = start; o < end; o += chunk.length) {
    const n = readSync(from, chunk, 0, Math.min(chunk.length, end - o), o);
    writeSync(to, chunk, 0, n, o);
  }
}

/** Puts the original bytes back where a mutation changed the copy. */
export function restoreDump(t: DumpTargets, orig: number, work: number, m: DumpMutation): void {
  copyRange(orig, work, m.from, Math.min(m.to, t.size));
  ftruncateSync(work, t.size);
}

/** A working copy of the dump, made once per child. */
export function workingCopy(path: string, copy: string): { orig: number; work: number; close(): void } {
  const orig = openSync(path, 'r');
  const work = openSync(copy, 'w+');
  const size = fstatSync(orig).size;
  copyRange(orig, work, 0, size);
  ftruncateSync(work, size);
  return { orig, work, close: () => { closeSync(orig); closeSync(work); } };
}
