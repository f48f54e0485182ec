/**
 * Writes trace.dat version 7 (trace-cmd's sectioned format, uncompressed but for MODULES_FILE): header, metadata
 * sections, one flyrecord section per buffer with page-aligned raw per-CPU pages, one options
 * section pointing at all of them, and the strings section. Written under a temporary name and
 * renamed at the end, so a crash never leaves half a file under the final name. A recording's
 * largest page file may become the file itself (writeAdopted): its pages are never copied.
 */
import { link, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { arch } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { TraceMeta } from '../ringbuf/meta.js';
import type { CpuPages, ExtraBuffer, WriteOptions } from '../trace/writer-port.js';
import { LkstError, errnoCode } from '../base/errors.js';
import { ByteBuilder } from './bytes.js';
import { adoptedMarkerPath } from '../base/page-files.js';
import { adoptPageFile, copyPageFiles, type PageFileCopy } from './page-copy.js';
import { MAGIC, Opt, SECTION_HEADER_SIZE, SEC_FL_COMPRESS, bufferStatOption, cpuStatOption } from './layout.js';

export type { CpuPages, ExtraBuffer, PageChunks, WriteOptions } from '../trace/writer-port.js';

const COPY_CHUNK = 1 << 20;

/** Writes FILE from the metadata and each CPU's pages; the main buffer is the file's top buffer. */
export async function writeTraceDat(path: string, meta: TraceMeta, cpus: CpuPages[], opts: WriteOptions = {}): Promise<void> {
  if (!isPowerOfTwo(meta.pageSize)) throw new LkstError(`page size ${meta.pageSize} is not a power of two`, 'pass the ring buffer sub-buffer size in bytes');
  const buffers: ExtraBuffer[] = [{ name: '', clock: meta.clock, pageSize: meta.pageSize, cpus, cpuStats: meta.cpuStats }, ...(opts.buffers ?? [])];
  const layout = await planLayout(meta, opts, buffers, !!opts.adoptPageFile);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  if (opts.adoptPageFile && (await writeAdopted(path, tmp, layout))) return;
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'w');
  } catch (err) {
    throw writeError(path, err);
  }
  try {
    const out = new Appender(fh);
    // Files (kallsyms, page files) are left as holes and copied in at the end by one copier process:
    // a process per piece cost ~10 ms of CPU each.
    const files: PageFileCopy[] = [];
    const later = (source: string, size: number): void => {
      files.push({ source, offset: out.pos, size });
      out.pos += size;
    };
    for (const piece of placements(layout)) {
      // Zeros up to a buffer's page-aligned data.
      if (piece.at > out.pos) await out.put(Buffer.alloc(piece.at - out.pos));
      if (typeof piece.source === 'string') later(piece.source, piece.size);
      else await out.copy(piece.source, piece.size);
    }
    if (files.length && !(await copyPageFiles(tmp, files))) for (const f of files) await out.copyTo(f.offset, f.source, f.size);
    await fh.datasync();
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if (err instanceof LkstError) throw err;
    throw writeError(path, err);
  }
}

/** Page files smaller than this are copied: adopting one saves less than its extra steps cost. */
const ADOPT_MIN_BYTES = 1 << 20;

/**
 * Writes the file by making its largest page file the file: room for everything before its pages
 * is inserted at its start (no page moves), filled there, and the file linked to the output's name.
 * The page file keeps its name until the recording's files are removed, with a marker saying how many
 * bytes precede its pages (partial recovery strips them). false: not possible here (nothing changed).
 * The target is the file's last piece (planLayout puts it there): whole pages, at an offset fs
 * blocks divide, large enough, and only bytes or files before it.
 */
async function writeAdopted(path: string, tmp: string, layout: Layout): Promise<boolean> {
  if (layout.buffers.length !== 1) return false;
  const target = layout.buffers[0]!.physical.at(-1);
  const source = target?.source;
  if (!target || typeof source !== 'string' || target.size < ADOPT_MIN_BYTES || target.offset % 4096) return false;
  if ((await stat(source)).size !== target.size) return false;
  const writes: { at: number; data: Buffer }[] = [];
  const files: PageFileCopy[] = [];
  for (const piece of placements(layout)) {
    if (piece.cpu === target) continue;
    if (Buffer.isBuffer(piece.source)) writes.push({ at: piece.at, data: piece.source.subarray(0, piece.size) });
    else if (typeof piece.source === 'string') files.push({ source: piece.source, offset: piece.at, size: piece.size });
    else return false;
  }
  try {
    if ((await adoptPageFile(source, target.offset, adoptedMarkerPath(source), files)) === 'unsupported') return false;
    const fh = await open(source, 'r+');
    try {
      for (const w of writes) await fh.write(w.data, 0, w.data.length, w.at);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rm(tmp, { force: true });
    await link(source, tmp);
    await rename(tmp, path);
    return true;
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof LkstError) throw err;
    throw writeError(path, err);
  }
}

function writeError(path: string, err: unknown): LkstError {
  const code = errnoCode(err);
  if (code === 'ENOSPC') return new LkstError(`no space left to write ${path}`, 'free disk space or write to another directory (-o)');
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new LkstError(`cannot write ${path} (${code})`, 'choose a writable directory with -o');
  if (code === 'ENOENT') return new LkstError(`cannot write ${path}: its directory does not exist`, 'create the directory or choose another path with -o');
  return new LkstError(`cannot write ${path} (${code ?? String(err)})`, 'check the path and the disk');
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function longSize(): number {
  return /64/.test(arch()) ? 8 : 4;
}

/** The file's compression: "none", or zstd when a section is compressed (the pages never are). */
interface Compression {
  name: string;
  version: string;
}

function fileHeader(pageSize: number, optionsAt: number, z: Compression): Buffer {
  return new ByteBuilder()
    .bytes(MAGIC)
    .cstr('7')
    .u8(0) // little endian
    .u8(longSize())
    .u32(pageSize)
    .cstr(z.name)
    .cstr(z.version)
    .u64(optionsAt)
    .build();
}

/** A section's body: bytes, then maybe a file's bytes (a big text the caller left in a file); flags for a compressed body. */
type Section = [id: number, description: string, body: Buffer, tail?: FilePiece, flags?: number];

interface FilePiece {
  file: string;
  size: number;
}

/**
 * MODULES_FILE as trace-cmd 3.4 writes it (trace-output.c tracecmd_append_modules_file): the
 * /proc/modules text as one compressed block, "u32 compressed size, u32 size, frame". It must be
 * compressed: 3.4's read_modules takes the text from the decompressor only, so in a file without
 * compression the section fails and the file does not open. The file header then names zstd
 * (trace-cmd 3.1.6 has it; only sections flagged compressed are). undefined without a compressor.
 */
async function modulesSection(text: string): Promise<{ section: Section; z: Compression } | undefined> {
  const raw = Buffer.from(text, 'utf8');
  // The compressor (and node:zlib with it) loads only for this section: a recording has none.
  const c = (await import('./compression.js')).zstdCompress(raw);
  if (!c) return undefined;
  const body = new ByteBuilder().u32(c.frame.length).u32(raw.length).bytes(c.frame).build();
  return { section: [Opt.MODULES_FILE, 'modules', body, undefined, SEC_FL_COMPRESS], z: { name: 'zstd', version: c.version } };
}

async function metadataSections(meta: TraceMeta): Promise<Section[]> {
  const header = new ByteBuilder().cstr('header_page').u64(Buffer.byteLength(meta.headerPage)).text(meta.headerPage);
  header.cstr('header_event').u64(Buffer.byteLength(meta.headerEvent)).text(meta.headerEvent);
  const ftrace = new ByteBuilder().u32(meta.ftraceFormats.length);
  for (const f of meta.ftraceFormats) ftrace.u64(Buffer.byteLength(f)).text(f);
  const events = new ByteBuilder().u32(meta.eventFormats.length);
  for (const sys of meta.eventFormats) {
    events.cstr(sys.system).u32(sys.formats.length);
    for (const f of sys.formats) events.u64(Buffer.byteLength(f)).text(f);
  }
  return [
    [Opt.HEADER_INFO, 'headers', header.build()],
    [Opt.FTRACE_EVENTS, 'ftrace events', ftrace.build()],
    [Opt.EVENT_FORMATS, 'events format', events.build()],
    await kallsymsSection(meta),
    [Opt.PRINTK, 'printk', new ByteBuilder().u32(Buffer.byteLength(meta.printk)).text(meta.printk).build()],
    [Opt.CMDLINES, 'command lines', new ByteBuilder().u64(Buffer.byteLength(meta.cmdlines)).text(meta.cmdlines).build()],
  ];
}

async function kallsymsSection(meta: TraceMeta): Promise<Section> {
  if (!meta.kallsymsFile) return [Opt.KALLSYMS, 'kallsyms', new ByteBuilder().u32(Buffer.byteLength(meta.kallsyms)).text(meta.kallsyms).build()];
  const size = await sourceSize(meta.kallsymsFile);
  return [Opt.KALLSYMS, 'kallsyms', new ByteBuilder().u32(size).build(), { file: meta.kallsymsFile, size }];
}

interface PlacedBuffer {
  buffer: ExtraBuffer;
  pageSize: number;
  sectionAt: number;
  dataStart: number;
  /** The flyrecord section header, written at sectionAt. */
  header: Buffer;
  cpus: PlacedCpu[];
  /** The CPUs in the order their pages lie in the file (cpus keeps CPU order for the options). */
  physical: PlacedCpu[];
}

interface PlacedCpu {
  cpu: number;
  offset: number;
  size: number;
  source: CpuPages['source'];
}

function optionsBody(meta: TraceMeta, opts: WriteOptions, offsets: Map<number, number>, placed: PlacedBuffer[]): Buffer {
  const b = new ByteBuilder();
  const opt = (id: number, data: Buffer): void => {
    b.u16(id).u32(data.length).bytes(data);
  };
  const str = (id: number, s: string): void => opt(id, Buffer.from(s + '\0', 'utf8'));
  for (const [id, at] of offsets) opt(id, new ByteBuilder().u64(at).build());
  str(Opt.TRACECLOCK, `[${meta.clock}]\n`);
  if (meta.uname) str(Opt.UNAME, meta.uname);
  if (meta.maskset) str(Opt.LKST_MASKSET, meta.maskset);
  if (meta.counts) str(Opt.LKST_COUNTS, meta.counts);
  const clocks = clockOffsetsText(placed.map((p) => p.buffer));
  if (clocks) str(Opt.LKST_CLOCKS, clocks);
  str(Opt.VERSION, opts.version ?? 'lkst');
  if (meta.lastBootInfo !== undefined) str(Opt.LAST_BOOT_INFO, meta.lastBootInfo);
  if (opts.tsOffset !== undefined && BigInt(opts.tsOffset) !== 0n) str(Opt.OFFSET, String(opts.tsOffset));
  opt(Opt.CPUCOUNT, new ByteBuilder().u32(meta.cpuCount).build());
  for (const p of placed) {
    if (p.buffer.name) str(Opt.CPUSTAT, bufferStatOption(p.buffer.name));
    p.buffer.cpuStats?.forEach((text, cpu) => {
      if (text !== undefined) str(Opt.CPUSTAT, cpuStatOption(cpu, text));
    });
  }
  for (const p of placed) {
    const d = new ByteBuilder().u64(p.sectionAt).cstr(p.buffer.name).cstr(p.buffer.clock ?? meta.clock).u32(p.pageSize).u32(p.cpus.length);
    for (const c of p.cpus) d.u32(c.cpu).u64(c.offset).u64(c.size);
    opt(Opt.BUFFER, d.build());
  }
  opt(Opt.DONE, new ByteBuilder().u64(0).build());
  return b.build();
}

/** The LKST_CLOCKS text: the main buffer's name and each measured offset to it; undefined when none was measured. */
function clockOffsetsText(buffers: readonly ExtraBuffer[]): string | undefined {
  const measured = buffers.slice(1).filter((b) => b.clockOffset);
  if (!measured.length) return undefined;
  return JSON.stringify({ reference: buffers[0]!.name, offsets: Object.fromEntries(measured.map((b) => [b.name, b.clockOffset])) });
}

/** Section descriptions, stored once in the strings section and named by their offset there. */
class Strings {
  private b = new ByteBuilder();
  id(s: string): number {
    const at = this.b.length;
    this.b.cstr(s);
    return at;
  }
  build(): Buffer {
    return this.b.build();
  }
}

function sectionHeader(id: number, descId: number, size: number, flags = 0): Buffer {
  return new ByteBuilder().u16(id).u16(flags).u32(descId).u64(size).build();
}

/**
 * Places everything before any page is written: header, metadata, options, strings, then the
 * pages. With the metadata first, a file cut off later still has all of it and its whole pages.
 */
async function planLayout(meta: TraceMeta, opts: WriteOptions, buffers: ExtraBuffer[], adopt = false): Promise<Layout> {
  const strings = new Strings();
  const sections = await metadataSections(meta);
  const mods = meta.modules ? await modulesSection(meta.modules) : undefined;
  if (mods) sections.push(mods.section);
  const z: Compression = mods?.z ?? { name: 'none', version: '' };
  const headerLen = fileHeader(meta.pageSize, 0, z).length;
  // Bytes up to the next file piece are joined into one write.
  const pieces: (Buffer | FilePiece)[] = [];
  let parts: Buffer[] = [];
  let pos = headerLen;
  const offsets = new Map<number, number>();
  for (const [id, desc, body, tail, flags] of sections) {
    offsets.set(id, pos);
    const size = body.length + (tail?.size ?? 0);
    parts.push(sectionHeader(id, strings.id(desc), size, flags), body);
    if (tail) {
      pieces.push(Buffer.concat(parts), tail);
      parts = [];
    }
    pos += SECTION_HEADER_SIZE + size;
  }
  const optionsAt = pos;
  const optionsDesc = strings.id('options');
  const flyDescs = buffers.map((b) => strings.id(`buffer flyrecord ${b.name}`));
  const stringsDesc = strings.id('strings');
  const stringsBody = strings.build();
  const placed: PlacedBuffer[] = [];
  for (const b of buffers) {
    const pageSize = b.pageSize ?? meta.pageSize;
    const cpus: PlacedBuffer['cpus'] = [];
    for (const c of b.cpus) cpus.push({ cpu: c.cpu, offset: 0, size: wholePages(await sourceSize(c.source), pageSize), source: c.source });
    placed.push({ buffer: b, pageSize, sectionAt: 0, dataStart: 0, header: Buffer.alloc(0), cpus, physical: cpus });
  }
  // The file ends with the largest page file, the one a recording can adopt as the file (writeAdopted):
  // only with the main buffer alone (other buffers' files are not the recording's page files).
  const last = placed.length === 1 ? placed[0] : undefined;
  if (adopt && last) {
    const files = last.cpus.filter((c) => typeof c.source === 'string');
    const largest = files.reduce<PlacedCpu | undefined>((m, c) => (!m || c.size > m.size ? c : m), undefined);
    if (largest) last.physical = [...last.cpus.filter((c) => c !== largest), largest];
  }
  // The options' size does not depend on the offsets in them, so one trial build fixes where the pages go.
  const optionsLen = optionsBody(meta, opts, offsets, placed).length;
  pos = optionsAt + SECTION_HEADER_SIZE + optionsLen + SECTION_HEADER_SIZE + stringsBody.length;
  for (const p of placed) {
    p.sectionAt = pos;
    p.dataStart = alignUp(pos + SECTION_HEADER_SIZE, p.pageSize);
    pos = p.dataStart;
    for (const c of p.physical) {
      c.offset = pos;
      pos += c.size;
    }
  }
  const options = optionsBody(meta, opts, offsets, placed);
  parts.push(sectionHeader(Opt.DONE, optionsDesc, options.length), options);
  parts.push(sectionHeader(Opt.STRINGS, stringsDesc, stringsBody.length), stringsBody);
  for (const [i, p] of placed.entries()) {
    const size = p.dataStart - p.sectionAt - SECTION_HEADER_SIZE + p.cpus.reduce((a, c) => a + c.size, 0);
    p.header = sectionHeader(Opt.BUFFER, flyDescs[i]!, size);
  }
  pieces.push(Buffer.concat(parts));
  return { head: [Buffer.concat([fileHeader(meta.pageSize, optionsAt, z), ...(Buffer.isBuffer(pieces[0]) ? [pieces.shift() as Buffer] : [])]), ...pieces], buffers: placed };
}

interface Layout {
  head: (Buffer | FilePiece)[];
  buffers: PlacedBuffer[];
}

/** What goes where in the file, in file order (the gaps before each buffer's pages are zeros). */
function* placements(layout: Layout): Generator<{ at: number; size: number; source: CpuPages['source']; cpu?: PlacedCpu }> {
  let at = 0;
  for (const piece of layout.head) {
    const [source, size] = Buffer.isBuffer(piece) ? [piece, piece.length] : [piece.file, piece.size];
    yield { at, size, source };
    at += size;
  }
  for (const p of layout.buffers) {
    yield { at: p.sectionAt, size: p.header.length, source: p.header };
    for (const c of p.physical) yield { at: c.offset, size: c.size, source: c.source, cpu: c };
  }
}

/** Sequential writes at the end of the output, and copies of page files into it. */
class Appender {
  pos = 0;
  private copyBuf: Buffer | undefined;

  constructor(private readonly fh: FileHandle) {}

  async put(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.fh.write(data, off, data.length - off, this.pos);
      off += bytesWritten;
      this.pos += bytesWritten;
    }
  }

  /** copy() to an offset before the end (a hole left for it); the end stays where it was. */
  async copyTo(offset: number, source: string, size: number): Promise<void> {
    const end = this.pos;
    this.pos = offset;
    try {
      await this.copy(source, size);
    } finally {
      this.pos = end;
    }
  }

  async copy(source: CpuPages['source'], size: number): Promise<void> {
    if (Buffer.isBuffer(source)) return this.put(source.subarray(0, size));
    if (typeof source !== 'string') {
      let done = 0;
      for (const chunk of source.chunks()) {
        const n = Math.min(chunk.length, size - done);
        await this.put(n === chunk.length ? chunk : chunk.subarray(0, n));
        done += n;
        if (done >= size) break;
      }
      return;
    }
    const src = await open(source, 'r');
    try {
      this.copyBuf ??= Buffer.allocUnsafe(COPY_CHUNK);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await src.read(this.copyBuf, 0, Math.min(COPY_CHUNK, size - done), done);
        if (bytesRead === 0) throw new LkstError(`page file ${source} shrank while being written`, 'do not touch the recording files until lkst finishes');
        await this.put(this.copyBuf.subarray(0, bytesRead));
        done += bytesRead;
      }
    } finally {
      await src.close();
    }
  }
}

async function sourceSize(source: CpuPages['source']): Promise<number> {
  if (Buffer.isBuffer(source)) return source.length;
  if (typeof source !== 'string') return source.size;
  try {
    return (await stat(source)).size;
  } catch (err) {
    throw new LkstError(`cannot read page file ${source} (${errnoCode(err) ?? String(err)})`, 'the recording files were removed before the trace was written');
  }
}

/** A partial page at the end (a page file cut off mid-write) is left out. */
function wholePages(bytes: number, pageSize: number): number {
  return bytes - (bytes % pageSize);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
