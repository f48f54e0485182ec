// makedumpfile's kdump-compressed format ("KDUMP   "): header, sub-header (VMCOREINFO), two
// bitmaps (memory present, page dumped), a descriptor per dumped page, compressed page data.
import { decompress as zstdDecompress } from 'fzstd';
import { shownText } from '../base/text.js';
import { dumpError } from './errors.js';
import type { RandomAccess } from './file-io.js';
import { PageInflater } from './inflate.js';
import type { PhysMemory } from './physmem.js';

const SIGNATURES = ['KDUMP   ', 'DISKDUMP'];
const DESC_SIZE = 24;
const ZLIB = 0x1, LZO = 0x2, SNAPPY = 0x4, ZSTD = 0x20;
const PREFIX_BYTES = 64;
/**
 * Decompressed pages kept (96 MiB of 4 KiB pages): a recovery reads each ring-buffer page several
 * times (checked, written); kept, each is inflated once. Pages are kept in the order first read
 * and never dropped, so a page handed out stays as it is, and passes over more ring pages than
 * fit still find the first 96 MiB of them (dropping the oldest would find none).
 */
const CACHE_PAGES = 24576;
/** Pages per slab of the cache (1 MiB of 4 KiB pages): allocated as the cache fills. */
const SLAB_PAGES = 256;
/** A prefetch reads the compressed pages of a run at once when they lie this close together in the file. */
const SPAN_SLACK = 4;

export function isKdump(head: Buffer): boolean {
  return head.length >= 8 && SIGNATURES.includes(head.toString('latin1', 0, 8));
}

export class KdumpDump implements PhysMemory {
  readonly format: string;
  readonly vmcoreinfo?: string;
  readonly maxAddress: number;
  readonly machine: string;
  lastMiss = '';
  private blockSize: number;
  private maxMapnr: number;
  private present: Buffer;
  private dumped: Buffer;
  private prefix: Uint32Array;
  private descStart: number;
  /** Cached pages: pfn → slot in the slabs. */
  private cache = new Map<number, number>();
  private slabs: Buffer[] = [];
  private inflater = new PageInflater();

  constructor(private file: RandomAccess, format = 'kdump') {
    this.format = format;
    const h = file.read(0, 512);
    if (!isKdump(h) || h.length < 464) throw dumpError('truncated kdump-compressed dump (no header)', 'recover from a complete copy');
    const version = h.readInt32LE(8);
    const uts = (i: number) => { const s = h.toString('latin1', 12 + 65 * i, 12 + 65 * (i + 1)); return s.slice(0, s.indexOf('\0') < 0 ? 65 : s.indexOf('\0')); };
    this.machine = uts(4);
    if (this.machine && this.machine !== 'x86_64') throw dumpError(`dump of another architecture (${shownText(this.machine)})`, 'lkst recovers x86_64 dumps only');
    this.blockSize = h.readInt32LE(428);
    const subHdrSize = h.readInt32LE(432);
    const bitmapBlocks = h.readUInt32LE(436);
    this.maxMapnr = h.readUInt32LE(440);
    if (this.blockSize < 4096 || this.blockSize > 1 << 20 || (this.blockSize & (this.blockSize - 1))) {
      throw dumpError(`corrupt kdump header (block size ${this.blockSize})`, 'recover from an intact copy');
    }
    const sub = file.read(this.blockSize, 104);
    if (version >= 6 && sub.length >= 104) this.maxMapnr = Number(sub.readBigUInt64LE(96));
    if (sub.length >= 48) {
      const viOff = Number(sub.readBigInt64LE(32));
      const viLen = Number(sub.readBigUInt64LE(40));
      if (viOff > 0 && viLen > 0 && viLen < 1 << 20) {
        const vi = file.read(viOff, viLen);
        if (vi.length === viLen) this.vmcoreinfo = vi.toString('latin1').replace(/\0+$/, '');
      }
    }
    const bmOff = this.blockSize * (1 + subHdrSize);
    const bmLen = bitmapBlocks * this.blockSize;
    // Checked before reading: a corrupt count must not allocate; a cut-off file looks the same from here.
    const bm = bmOff + bmLen <= file.size ? file.read(bmOff, bmLen) : Buffer.alloc(0);
    if (bm.length < bmLen) {
      throw dumpError(`kdump bitmaps (${bitmapBlocks} blocks of ${this.blockSize} bytes) run past the end of the file: it is cut short or its header is corrupt`, 'recover from a complete, intact copy');
    }
    this.present = bm.subarray(0, bmLen / 2);
    this.dumped = bm.subarray(bmLen / 2);
    this.maxMapnr = Math.min(this.maxMapnr, this.dumped.length * 8);
    this.maxAddress = this.maxMapnr * this.blockSize;
    this.descStart = bmOff + bmLen;

    // Dumped-page counts before every PREFIX_BYTES of the bitmap: pfn → descriptor index.
    this.prefix = new Uint32Array(Math.ceil(this.dumped.length / PREFIX_BYTES) + 1);
    let n = 0;
    for (let i = 0; i < this.dumped.length; i++) {
      if (i % PREFIX_BYTES === 0) this.prefix[i / PREFIX_BYTES] = n;
      n += POPCOUNT[this.dumped[i]];
    }
  }

  private bit(map: Buffer, pfn: number): boolean {
    return ((map[pfn >> 3] >> (pfn & 7)) & 1) === 1;
  }

  private descIndex(pfn: number): number {
    const byte = pfn >> 3;
    let n = this.prefix[Math.floor(byte / PREFIX_BYTES)];
    for (let i = byte - (byte % PREFIX_BYTES); i < byte; i++) n += POPCOUNT[this.dumped[i]];
    return n + POPCOUNT[this.dumped[byte] & ((1 << (pfn & 7)) - 1)];
  }

  private page(pfn: number): Buffer | undefined {
    const hit = this.cache.get(pfn);
    if (hit !== undefined) return this.slot(hit);
    if (pfn >= this.maxMapnr || !this.bit(this.dumped, pfn)) {
      this.lastMiss = pfn < this.maxMapnr && this.bit(this.present, pfn) ? 'filtered' : 'not in dump';
      return undefined;
    }
    const d = this.file.read(this.descStart + this.descIndex(pfn) * DESC_SIZE, DESC_SIZE);
    if (d.length < DESC_SIZE) { this.lastMiss = 'truncated'; return undefined; }
    const off = Number(d.readBigInt64LE(0));
    const size = d.readUInt32LE(8);
    const flags = d.readUInt32LE(12);
    const data = this.file.read(off, size);
    if (data.length < size) { this.lastMiss = 'truncated'; return undefined; }
    const slot = this.cache.size < CACHE_PAGES ? this.cache.size : -1;
    const page = slot >= 0 ? this.slot(slot) : Buffer.allocUnsafe(this.blockSize);
    if (!this.decompress(data, flags, page)) { this.lastMiss = 'corrupt page data'; return undefined; }
    if (slot >= 0) this.cache.set(pfn, slot);
    return page;
  }

  /**
   * Inflates the run's pages not yet kept into the cache, with one read of their descriptors and
   * one of their data (makedumpfile writes pages in frame order, so a run's data lies together).
   * Pages it skips (cache full, data apart, LZO, corrupt) are left to page(), which says why.
   */
  prefetch(paddrs: readonly number[], len: number): void {
    const want: number[] = [];
    for (const paddr of paddrs) {
      for (let pfn = Math.ceil(paddr / this.blockSize); pfn < Math.floor((paddr + len) / this.blockSize); pfn++) {
        if (pfn < this.maxMapnr && this.bit(this.dumped, pfn) && !this.cache.has(pfn) && !want.includes(pfn)) want.push(pfn);
      }
    }
    if (!want.length || this.cache.size + want.length > CACHE_PAGES) return;
    const idx = want.map((pfn) => this.descIndex(pfn));
    const lo = Math.min(...idx);
    const descs = this.file.read(this.descStart + lo * DESC_SIZE, (Math.max(...idx) - lo + 1) * DESC_SIZE);
    const at = idx.map((i) => (i - lo) * DESC_SIZE);
    if (at.some((o) => o + DESC_SIZE > descs.length)) return;
    const offs = at.map((o) => Number(descs.readBigInt64LE(o)));
    const sizes = at.map((o) => descs.readUInt32LE(o + 8));
    const start = Math.min(...offs);
    const span = Math.max(...offs.map((o, k) => o + sizes[k]!)) - start;
    if (start < 0 || span > SPAN_SLACK * sizes.reduce((a, b) => a + b, 0) || span > SPAN_SLACK * want.length * this.blockSize) return;
    const data = this.file.read(start, span);
    want.forEach((pfn, k) => {
      const flags = descs.readUInt32LE(at[k]! + 12);
      const from = offs[k]! - start;
      if (flags & (LZO | SNAPPY) || from + sizes[k]! > data.length) return;
      const slot = this.cache.size;
      if (this.decompress(data.subarray(from, from + sizes[k]!), flags, this.slot(slot))) this.cache.set(pfn, slot);
    });
  }

  /** Fills page (one block) from a descriptor's data; false when the data is corrupt. */
  private decompress(data: Buffer, flags: number, page: Buffer): boolean {
    if (flags & ZLIB) return this.inflater.inflateInto(data, page);
    if (flags & (LZO | SNAPPY)) {
      throw dumpError(`kdump page compressed with ${flags & LZO ? 'LZO' : 'snappy'}, which lkst cannot read`, 'convert the dump with makedumpfile -c (zlib) or --zstd, or to ELF with makedumpfile -E');
    }
    let out: Uint8Array = data;
    if (flags & ZSTD) {
      try {
        out = zstdDecompress(data);
      } catch {
        return false;
      }
    }
    if (out.length !== this.blockSize) return false;
    page.set(out);
    return true;
  }

  /** Cache slot i: a view of its slab, allocated when first used. */
  private slot(i: number): Buffer {
    const slab = Math.floor(i / SLAB_PAGES);
    const b = (this.slabs[slab] ??= Buffer.allocUnsafe(SLAB_PAGES * this.blockSize));
    const at = (i % SLAB_PAGES) * this.blockSize;
    return b.subarray(at, at + this.blockSize);
  }

  read(paddr: number, len: number): Buffer | undefined {
    // A whole page (a ring-buffer page) is handed out as decompressed: no copy. Readers never write into it.
    if (len === this.blockSize && paddr % len === 0) return this.page(paddr / len);
    const out = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const a = paddr + done;
      const pfn = Math.floor(a / this.blockSize);
      const p = this.page(pfn);
      if (!p) return undefined;
      const inPage = a - pfn * this.blockSize;
      const n = Math.min(len - done, this.blockSize - inPage);
      p.copy(out, done, inPage, inPage + n);
      done += n;
    }
    return out;
  }

  ranges(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let start = -1;
    for (let pfn = 0; pfn <= this.maxMapnr; pfn++) {
      const on = pfn < this.maxMapnr && this.bit(this.dumped, pfn);
      if (on && start < 0) start = pfn;
      else if (!on && start >= 0) { out.push([start * this.blockSize, pfn * this.blockSize]); start = -1; }
    }
    return out;
  }

  close(): void {
    this.file.close();
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});
