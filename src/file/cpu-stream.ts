/** One CPU's pages in a trace file, handed out in large chunks of whole pages, read on demand. */
import { LkstError } from '../base/errors.js';
import type { Decompressor } from './compression.js';
import { corruptFile } from './cursor.js';
import { unreadablePages } from '../ringbuf/page.js';
import type { ByteSource, FileSource } from './source.js';
import type { CpuPageStream } from '../trace/model.js';

/** One CPU's pages in a trace.dat; compressed ones also expose their runs. */
export interface CpuStream extends CpuPageStream {
  /** Compressed streams: the runs chunks() decompresses, one chunk each (for decompressing elsewhere). */
  runs?: ZRun[];
  /** Compressed streams: the pages of one of its runs (or runs regrouped from its chunks), into dst when given. */
  decompress?(run: ZRun, dst?: Uint8Array): Buffer;
  /** The chunks from a page on; reuse: the reader is done with a chunk when it asks for the next (one buffer serves all). */
  chunksFrom?(page: number, reuse?: boolean): Iterable<Buffer>;
  /** The time in the header of page `page` (the ring buffer's own clock, no file offset), read alone; NaN past the end. */
  pageTime?(page: number): number;
}

/** The timestamp a page's header holds (a u64, as a number). */
function headerTime(b: Buffer, at: number): number {
  return b.length >= at + 8 ? b.readUInt32LE(at + 4) * 0x100000000 + b.readUInt32LE(at) : NaN;
}

export const CHUNK_BYTES = 1 << 20;
/** trace-cmd compresses 10 pages per chunk; anything near this is a corrupt header. */
const MAX_RAW_CHUNK = 64 << 20;
// Runs of 2 MiB: a pass keeps one run's pages in a buffer per CPU, and on this VM the first touch of
// memory costs ~10-20 us a page (8 MiB runs: ~3,900 more page faults on a 6 M-event report).
const ZRUN_BYTES = 2 * CHUNK_BYTES;
const TABLE_WINDOW = 64 << 10;

/** Pages stored as they are. A stream cut off by the end of the file keeps its whole pages. */
export function plainCpuStream(src: FileSource, cpu: number, offset: number, size: number, pageSize: number, warnings: string[]): CpuStream {
  let usable = Math.max(0, Math.min(size, src.size - offset));
  usable -= usable % pageSize;
  if (usable < size) {
    warnings.push(`CPU ${cpu}: the file ends ${size - usable} bytes early; read ${usable / pageSize} whole pages of ${Math.ceil(size / pageSize)}`);
  }
  const step = Math.max(pageSize, CHUNK_BYTES - (CHUNK_BYTES % pageSize));
  let head: Buffer | undefined;
  return {
    cpu,
    counters: {},
    size: usable,
    pageSize,
    *chunks(reuse = false) {
      let mem: Buffer | undefined;
      for (let p = 0; p < usable; p += step) {
        const len = Math.min(step, usable - p);
        yield reuse ? src.readInto((mem ??= Buffer.allocUnsafe(step)), offset + p, len) : src.read(offset + p, len);
      }
    },
    chunkAt,
    chunksFrom(page: number, reuse = false) {
      const i = Math.floor((page * pageSize) / step);
      let mem: Buffer | undefined;
      const at = reuse ? (k: number) => chunkAt(k, (mem ??= Buffer.allocUnsafe(step))) : chunkAt;
      return chunksFrom(at, i, page - (i * step) / pageSize, pageSize);
    },
    pageTime(page) {
      const p = page * pageSize;
      // Alone: the source's window would read 64 KiB around it.
      return page >= 0 && p < usable ? headerTime(src.readInto((head ??= Buffer.alloc(8)), offset + p, 8), 0) : NaN;
    },
  };
  function chunkAt(i: number, into?: Buffer): Buffer | undefined {
    const p = i * step;
    if (!(i >= 0 && p < usable)) return undefined;
    const len = Math.min(step, usable - p);
    return into ? src.readInto(into, offset + p, len) : src.read(offset + p, len);
  }
}

/**
 * The pages from one page on, through chunkAt: chunk i from its page `skip` on, then the chunks
 * after it. One seek serves both the viewer's windows (chunkAt) and resumed walks (chunksFrom) of a
 * plain stream; a compressed one starts at the compressed chunk that holds the page.
 */
function* chunksFrom(chunkAt: (i: number) => Buffer | undefined, i: number, skip: number, pageSize: number): Generator<Buffer> {
  const head = chunkAt(i);
  if (!head) return;
  if (skip * pageSize < head.length) yield skip ? head.subarray(skip * pageSize) : head;
  for (let c = chunkAt(++i); c; c = chunkAt(++i)) yield c;
}

interface ZChunk {
  at: number;
  csize: number;
  rawSize: number;
}

/** Compressed chunks that are decompressed together into one chunk of pages (plain data: it goes to worker threads). */
export interface ZRun {
  cpu: number;
  chunks: ZChunk[];
  /** Bytes of pages they hold. */
  raw: number;
  pageSize: number;
  /** The rest of the CPU's data is unreadable (a damaged chunk header): one unreadable page stands for it. */
  damaged?: boolean;
}

/** The bytes of pages of a stream's largest run. */
export function maxRun(runs: readonly ZRun[]): number {
  let m = 0;
  for (const r of runs) m = Math.max(m, r.raw);
  return m;
}

/** The first run is small so that pages come quickly; later ones are `later` bytes (a few MiB). */
function groupRuns(cpu: number, table: ZChunk[], pageSize: number, later = ZRUN_BYTES): ZRun[] {
  const runs: ZRun[] = [];
  for (let i = 0; i < table.length; ) {
    const limit = runs.length ? later : CHUNK_BYTES;
    const run: ZRun = { cpu, chunks: [], raw: 0, pageSize };
    while (i < table.length && (run.raw < limit || !run.chunks.length)) {
      run.chunks.push(table[i]!);
      run.raw += table[i++]!.rawSize;
    }
    runs.push(run);
  }
  return runs;
}

/**
 * The pages of one run: its compressed chunks are small and contiguous in the file, read at once.
 * A chunk that does not decompress gives the pages it decompresses to before the damage, the others
 * marked unreadable (the consumers skip and count them), and the rest of the run is read: one
 * flipped bit costs at most one chunk, not the file.
 */
export function decompressRun(src: ByteSource & { path: string }, run: ZRun, unzip: Decompressor, dst?: Uint8Array): Buffer {
  if (run.damaged) return unreadablePages(run.pageSize, run.pageSize);
  const first = run.chunks[0]!;
  const last = run.chunks[run.chunks.length - 1]!;
  const span = src.read(first.at, last.at + last.csize - first.at);
  const blocks = run.chunks.map((c) => ({ data: span.subarray(c.at - first.at, c.at - first.at + c.csize), rawSize: c.rawSize }));
  try {
    return unzip.many(blocks, run.raw, dst);
  } catch (err) {
    if (err instanceof LkstError) throw err;
  }
  return Buffer.concat(
    blocks.map((b) => {
      try {
        return unzip.one(b.data, b.rawSize);
      } catch (err) {
        if (err instanceof LkstError) throw err;
        return unzip.salvage(b.data, b.rawSize, run.pageSize);
      }
    }),
    run.raw,
  );
}

/**
 * Pages compressed in chunks: u32 count, then per chunk u32 compressed size, u32 raw size, data.
 * The chunk table is read when opening (headers only); data is decompressed while iterating.
 */
export function compressedCpuStream(src: FileSource, cpu: number, offset: number, size: number, pageSize: number, unzip: Decompressor, warnings: string[]): CpuStream {
  // trace-cmd's stored size leaves out the 4-byte chunk count.
  const end = Math.min(offset + 4 + size, src.size);
  const table: ZChunk[] = [];
  let total = 0;
  let damaged = false;
  if (size > 0) {
    if (offset + 4 > end) throw corruptFile(src.path, `CPU ${cpu} data has no chunk count`);
    const n = src.read(offset, 4).readUInt32LE(0);
    let p = offset + 4;
    // Chunk headers are read through a window, not one small read each.
    let win: Buffer = Buffer.alloc(0);
    let winAt = 0;
    // One window buffer serves every read: the whole stream passes through it at open.
    const winMem = Buffer.allocUnsafe(TABLE_WINDOW);
    for (let i = 0; i < n; i++) {
      if (p + 8 > end) break;
      if (p < winAt || p + 8 > winAt + win.length) {
        winAt = p;
        win = src.readInto(winMem, p, Math.min(TABLE_WINDOW, end - p));
      }
      const c = { at: p + 8, csize: win.readUInt32LE(p - winAt), rawSize: win.readUInt32LE(p - winAt + 4) };
      if (c.rawSize > MAX_RAW_CHUNK || c.rawSize % pageSize !== 0 || c.rawSize === 0 || c.csize === 0) {
        // Where the next chunk starts is lost with this header: what follows on this CPU cannot be found.
        warnings.push(`CPU ${cpu}: compressed chunk ${i} of ${n} has a damaged header (${c.csize} compressed bytes for ${c.rawSize} bytes of pages); its data and the ${n - i - 1} chunks after it are skipped`);
        damaged = true;
        break;
      }
      if (c.at + c.csize > end) break;
      table.push(c);
      total += c.rawSize;
      p = c.at + c.csize;
    }
    if (table.length < n && !damaged) warnings.push(`CPU ${cpu}: the file ends early; read ${table.length} of ${n} compressed chunks`);
  }
  const runs = groupRuns(cpu, table, pageSize);
  if (damaged) {
    runs.push({ cpu, chunks: [], raw: pageSize, pageSize, damaged: true });
    total += pageSize;
  }
  // The first page of each compressed chunk, to find a page without decompressing what is before it.
  const firstPage = new Float64Array(table.length + 1);
  for (let i = 0; i < table.length; i++) firstPage[i + 1] = firstPage[i]! + table[i]!.rawSize / pageSize;
  const chunkOf = (page: number): number => {
    let lo = 0;
    let hi = table.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (firstPage[mid]! <= page) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  let cached: { chunk: number; pages: Buffer } | undefined;
  return {
    cpu,
    counters: {},
    size: total,
    pageSize,
    runs,
    decompress: (run, dst) => decompressRun(src, run, unzip, dst),
    *chunks(reuse = false) {
      // A reader that is done with a chunk when it asks for the next gets them in one buffer.
      let mem: Buffer | undefined;
      for (const run of runs) yield decompressRun(src, run, unzip, reuse ? (mem ??= Buffer.allocUnsafeSlow(maxRun(runs))) : undefined);
    },
    *chunksFrom(page, reuse = false) {
      if (page >= firstPage[table.length]!) {
        if (damaged && page === firstPage[table.length]) yield decompressRun(src, runs[runs.length - 1]!, unzip);
        return;
      }
      // From the chunk that holds the page, in pieces of about CHUNK_BYTES: a reader that stops
      // soon after (a time range of a report) decompresses little it does not use.
      const c = chunkOf(page);
      let skip = (page - firstPage[c]!) * pageSize;
      const pieces = groupRuns(cpu, table.slice(c), pageSize, CHUNK_BYTES);
      const mem = reuse ? Buffer.allocUnsafeSlow(maxRun(pieces)) : undefined;
      for (const piece of pieces) {
        yield decompressRun(src, piece, unzip, mem).subarray(skip);
        skip = 0;
      }
      if (damaged) yield decompressRun(src, runs[runs.length - 1]!, unzip);
    },
    chunkAt(i) {
      const run = runs[i];
      return run && decompressRun(src, run, unzip);
    },
    pageTime(page) {
      if (!(page >= 0 && page < firstPage[table.length]!)) return NaN;
      const c = chunkOf(page);
      if (cached?.chunk !== c) cached = { chunk: c, pages: decompressRun(src, { cpu, chunks: [table[c]!], raw: table[c]!.rawSize, pageSize }, unzip) };
      return headerTime(cached.pages, (page - firstPage[c]!) * pageSize);
    },
  };
}
