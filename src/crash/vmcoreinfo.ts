// VMCOREINFO: the kernel's own "KEY=value" notes about itself (Documentation/admin-guide/kdump/vmcoreinfo.rst).
import type { PhysMemory } from './physmem.js';

export interface VmcoreInfo {
  text: string;
  osrelease?: string;
  pageSize?: number;
  kernelOffset?: bigint;
  symbols: Map<string, bigint>;
  numbers: Map<string, bigint>;
  sizes: Map<string, number>;
  offsets: Map<string, number>;
  lengths: Map<string, number>;
}

export function parseVmcoreInfo(text: string): VmcoreInfo {
  const info: VmcoreInfo = { text, symbols: new Map(), numbers: new Map(), sizes: new Map(), offsets: new Map(), lengths: new Map() };
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const val = line.slice(eq + 1).trim();
    const m = /^(SYMBOL|NUMBER|SIZE|OFFSET|LENGTH)\((.+)\)$/.exec(key);
    try {
      if (!m) {
        if (key === 'OSRELEASE') info.osrelease = val;
        else if (key === 'PAGESIZE') info.pageSize = Number(val);
        else if (key === 'KERNELOFFSET') info.kernelOffset = BigInt('0x' + val);
        continue;
      }
      const [, kind, name] = m;
      if (kind === 'SYMBOL') info.symbols.set(name, BigInt('0x' + val));
      else if (kind === 'NUMBER') info.numbers.set(name, BigInt(val));
      else if (kind === 'SIZE') info.sizes.set(name, Number(val));
      else if (kind === 'OFFSET') info.offsets.set(name, Number(val));
      else info.lengths.set(name, Number(val));
    } catch {
      // A malformed value only loses that one key.
    }
  }
  return info;
}

/** Told how far a long scan has got: bytes done of total. */
export type ScanProgress = (done: number, total: number) => void;

/**
 * Finds VMCOREINFO in physical memory when the dump has no note (raw images): the kernel keeps
 * the text in one page starting with "OSRELEASE=". One pass, into one reused buffer: a scan
 * that finds nothing costs one read of the memory.
 */
export function scanForVmcoreInfo(mem: PhysMemory, chunk = 128 << 10, progress?: ScanProgress): string | undefined {
  const needle = Buffer.from('OSRELEASE=');
  const ranges = mem.ranges();
  const total = ranges.reduce((n, [s, e]) => n + e - s, 0);
  const reuse = mem.readInto ? Buffer.allocUnsafe(chunk + 64) : undefined;
  let done = 0;
  for (const [start, end] of ranges) {
    for (let a = start; a < end; a += chunk) {
      const n = Math.min(chunk + 64, end - a);
      const buf = reuse ? (mem.readInto!(a, reuse.subarray(0, n)) ? reuse.subarray(0, n) : undefined) : mem.read(a, n);
      done += Math.min(chunk, end - a);
      progress?.(done, total);
      if (!buf) continue;
      let i = buf.indexOf(needle);
      while (i >= 0) {
        // The note text starts a page and runs to a NUL; real ones carry PAGESIZE and SYMBOL(...) lines.
        const page = mem.read(a + i, 4096);
        if (page) {
          const nul = page.indexOf(0);
          const text = page.toString('latin1', 0, nul < 0 ? page.length : nul);
          if (text.includes('\nPAGESIZE=') && text.includes('SYMBOL(')) return text;
        }
        i = buf.indexOf(needle, i + 1);
      }
    }
  }
  return undefined;
}
