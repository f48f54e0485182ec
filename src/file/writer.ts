/**
 * Writes trace.dat version 7 (trace-cmd's sectioned format, uncompressed): header, metadata
 * sections, one flyrecord section per buffer with page-aligned raw per-CPU pages, one options
 * section pointing at all of them, and the strings section. Written under a temporary name and
 * renamed at the end, so a crash never leaves half a file under the final name.
 */
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { arch } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { TraceMeta } from '../ringbuf/meta.js';
import { LkstError, errnoCode } from '../tracefs/errors.js';
import { ByteBuilder } from './bytes.js';
import { MAGIC, Opt, SECTION_HEADER_SIZE, bufferStatOption, cpuStatOption } from './layout.js';

/** One CPU's pages: a file of whole raw pages, or the pages in memory. */
export interface CpuPages {
  cpu: number;
  source: string | Buffer;
}

/** A further buffer (tracefs instance) stored next to the main one. */
export interface ExtraBuffer {
  name: string;
  clock?: string;
  pageSize?: number;
  cpus: CpuPages[];
  cpuStats?: (string | undefined)[];
}

export interface WriteOptions {
  /** Other instances recorded in the same session; each becomes a named BUFFER. */
  buffers?: ExtraBuffer[];
  /** Added to every timestamp on reading (OFFSET option), in clock units. */
  tsOffset?: number | bigint;
  /** Recorded in the VERSION option. */
  version?: string;
}

const COPY_CHUNK = 1 << 20;
const OPTIONS_OFFSET_AT = MAGIC.length + 2 + 1 + 1 + 4 + 'none\0\0'.length;

/** Writes FILE from the metadata and each CPU's pages; the main buffer is the file's top buffer. */
export async function writeTraceDat(path: string, meta: TraceMeta, cpus: CpuPages[], opts: WriteOptions = {}): Promise<void> {
  if (!isPowerOfTwo(meta.pageSize)) throw new LkstError(`page size ${meta.pageSize} is not a power of two`, 'pass the ring buffer sub-buffer size in bytes');
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'w');
  } catch (err) {
    throw writeError(path, err);
  }
  try {
    const w = new SectionWriter(fh);
    await w.put(fileHeader(meta.pageSize));
    const offsets = new Map<number, number>();
    for (const [id, desc, body] of metadataSections(meta)) offsets.set(id, await w.section(id, desc, body));
    const buffers: ExtraBuffer[] = [{ name: '', clock: meta.clock, pageSize: meta.pageSize, cpus, cpuStats: meta.cpuStats }, ...(opts.buffers ?? [])];
    const placed: PlacedBuffer[] = [];
    for (const b of buffers) placed.push(await w.flyrecord(b, b.pageSize ?? meta.pageSize));
    const optionsAt = await w.section(Opt.DONE, 'options', optionsBody(meta, opts, offsets, placed));
    await w.section(Opt.STRINGS, 'strings', Buffer.alloc(0), true);
    const at = Buffer.alloc(8);
    at.writeBigUInt64LE(BigInt(optionsAt));
    await fh.write(at, 0, 8, OPTIONS_OFFSET_AT);
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

function fileHeader(pageSize: number): Buffer {
  return new ByteBuilder()
    .bytes(MAGIC)
    .cstr('7')
    .u8(0) // little endian
    .u8(longSize())
    .u32(pageSize)
    .cstr('none')
    .cstr('')
    .u64(0) // offset of the first options section, patched at the end
    .build();
}

type Section = [id: number, description: string, body: Buffer];

function metadataSections(meta: TraceMeta): Section[] {
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
    [Opt.KALLSYMS, 'kallsyms', new ByteBuilder().u32(Buffer.byteLength(meta.kallsyms)).text(meta.kallsyms).build()],
    [Opt.PRINTK, 'printk', new ByteBuilder().u32(Buffer.byteLength(meta.printk)).text(meta.printk).build()],
    [Opt.CMDLINES, 'command lines', new ByteBuilder().u64(Buffer.byteLength(meta.cmdlines)).text(meta.cmdlines).build()],
  ];
}

interface PlacedBuffer {
  buffer: ExtraBuffer;
  pageSize: number;
  sectionAt: number;
  cpus: { cpu: number; offset: number; size: number }[];
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
  str(Opt.VERSION, opts.version ?? 'lkst');
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

/** Appends sections at the end of the file, keeping the strings table of their descriptions. */
class SectionWriter {
  private pos = 0;
  private strings = new ByteBuilder();
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

  private header(id: number, description: string, size: number): Buffer {
    const descId = this.strings.length;
    this.strings.cstr(description);
    return new ByteBuilder().u16(id).u16(0).u32(descId).u64(size).build();
  }

  /** Writes one section and returns where it starts. The strings section holds its own name too. */
  async section(id: number, description: string, body: Buffer, isStrings = false): Promise<number> {
    const at = this.pos;
    if (isStrings) {
      const descId = this.strings.length;
      this.strings.cstr(description);
      body = this.strings.build();
      await this.put(new ByteBuilder().u16(id).u16(0).u32(descId).u64(body.length).build());
    } else {
      await this.put(this.header(id, description, body.length));
    }
    await this.put(body);
    return at;
  }

  /** A flyrecord section: header, padding to a page boundary, then each CPU's whole pages. */
  async flyrecord(buffer: ExtraBuffer, pageSize: number): Promise<PlacedBuffer> {
    const sizes: number[] = [];
    for (const c of buffer.cpus) sizes.push(wholePages(await sourceSize(c.source), pageSize));
    const at = this.pos;
    const dataStart = alignUp(at + SECTION_HEADER_SIZE, pageSize);
    const total = dataStart - at - SECTION_HEADER_SIZE + sizes.reduce((a, s) => a + s, 0);
    await this.put(this.header(Opt.BUFFER, `buffer flyrecord ${buffer.name}`, total));
    await this.put(Buffer.alloc(dataStart - this.pos));
    const cpus: PlacedBuffer['cpus'] = [];
    for (let i = 0; i < buffer.cpus.length; i++) {
      const c = buffer.cpus[i]!;
      cpus.push({ cpu: c.cpu, offset: this.pos, size: sizes[i]! });
      await this.copy(c.source, sizes[i]!);
    }
    return { buffer, pageSize, sectionAt: at, cpus };
  }

  private async copy(source: string | Buffer, size: number): Promise<void> {
    if (Buffer.isBuffer(source)) return this.put(source.subarray(0, size));
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

async function sourceSize(source: string | Buffer): Promise<number> {
  if (Buffer.isBuffer(source)) return source.length;
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
