/**
 * Opens trace.dat files of version 6 and 7 (lkst's and trace-cmd's, v7 also compressed with zstd or
 * zlib). Metadata is read at open; the pages stay on disk and are read in large chunks on demand.
 */
import { parseHeaderPage, type HeaderPage } from '../events/format.js';
import { EventRegistry } from '../events/registry.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { LkstError } from '../base/errors.js';
import { shownText } from '../base/text.js';
import { decompressorFor, type Decompressor } from './compression.js';
import { compressedCpuStream, plainCpuStream, type CpuStream } from './cpu-stream.js';
import { lossCountersOfStats } from '../trace/loss.js';
import type { Trace, TraceBuffer } from '../trace/model.js';
import { Cursor, CorruptFileError, corruptFile, textOf } from './cursor.js';
import { MAGIC, Opt, SEC_FL_COMPRESS, TAG_FLYRECORD, TAG_LATENCY, TAG_OPTIONS } from './layout.js';
import { interpretOptions, readOptionRecords, type BufferOption, type FileOptions, type OptionRecord } from './options.js';
import { readCmdlines, readEventFormats, readFtraceFormats, readHeaderInfo, readKallsyms, readPrintk } from './sections.js';
import { BufferSource, FileSource } from './source.js';
import { KernelSymbols } from '../events/kallsyms.js';
import { parseCmdlines } from '../events/cmdlines.js';
import { parsePrintkFormats } from './symbols.js';
import { applyClockOffsets, parseClockOffsets } from './clock-offsets.js';
import { parseLastBootInfo, shiftKallsyms, unplacedWarning } from './last-boot.js';

export type { CpuStream } from './cpu-stream.js';
export type { FileOptions, BufferOption } from './options.js';

/** A buffer of a trace.dat: its CPU streams may carry compressed runs for decompressing elsewhere. */
export interface FileBuffer extends TraceBuffer {
  cpus: CpuStream[];
}

/** A trace.dat as the trace model, with what only a file has. */
export interface TraceFile extends Trace {
  version: number;
  /** "none", "zstd" or "zlib". */
  compression: string;
  /** Bytes of a long in the traced user space (4 or 8). */
  longSize: number;
  /** Page size of the main buffer's pages. */
  pageSize: number;
  headerPage: HeaderPage;
  buffers: FileBuffer[];
  options: FileOptions;
  readonly kallsyms: KernelSymbols;
  /** The BTF_FILE section, when the file has one (trace-cmd 3.4 adds it for BTF-typed events). */
  readonly btf?: Buffer;
}

const MAX_SECTION_BYTES = 512 << 20;
const MAX_CPUS = 1 << 16;
const MAX_OPTION_SECTIONS = 1000;
const MAX_FORMAT_WARNINGS = 5;

interface Parts {
  version: number;
  compression: string;
  longSize: number;
  headers: { headerPage: string; headerEvent: string };
  ftraceFormats: string[];
  eventFormats: { system: string; formats: string[] }[];
  /** The kallsyms bytes, or how to read them when first asked. */
  kallsyms: Buffer | (() => Buffer);
  printk: string;
  cmdlines: string;
  options: FileOptions;
  buffers: FileBuffer[];
  /** MODULES_FILE section text (/proc/modules of the recording kernel). */
  modules?: string;
  /** BTF_FILE section (the recording kernel's /sys/kernel/btf/vmlinux). */
  btf?: Buffer;
}

/** Opens a trace.dat file. Throws LkstError, with a one-line cause and fix, for anything it cannot read. */
export function openTraceDat(path: string): TraceFile {
  const src = FileSource.open(path);
  const warnings: string[] = [];
  try {
    return new TraceDatFile(path, src, parse(src, warnings), warnings);
  } catch (err) {
    src.close();
    if (err instanceof LkstError) throw err;
    throw corruptFile(path, (err as Error).message ?? String(err));
  }
}

class TraceDatFile implements TraceFile {
  readonly kind = 'trace.dat' as const;
  readonly version: number;
  readonly compression: string;
  readonly longSize: number;
  readonly pageSize: number;
  readonly meta: TraceMeta;
  readonly registry: EventRegistry;
  readonly headerPage: HeaderPage;
  readonly buffers: FileBuffer[];
  readonly options: FileOptions;
  readonly tsOffset: bigint;
  readonly btf?: Buffer;
  private symbols?: KernelSymbols;
  private printk?: Map<bigint, string>;
  private comms?: Map<number, string>;

  constructor(readonly path: string, private readonly src: FileSource, p: Parts, readonly warnings: string[]) {
    this.version = p.version;
    this.compression = p.compression;
    this.longSize = p.longSize;
    this.options = p.options;
    this.tsOffset = BigInt(p.options.tsOffset ?? 0n);
    this.headerPage = checkHeaderPage(path, p.headers.headerPage);
    const main = p.buffers.find((b) => b.name === '' && b.cpus.some((c) => c.size > 0)) ?? p.buffers.find((b) => b.cpus.some((c) => c.size > 0)) ?? p.buffers[0];
    if (!main) throw new LkstError(`${path} holds no trace data`, 'the recording saved no buffer; record again');
    // The main buffer first: the one the metadata describes and consumers list first.
    this.buffers = [main, ...p.buffers.filter((b) => b !== main)];
    const clocks = p.options.clockOffsets !== undefined ? parseClockOffsets(p.options.clockOffsets, warnings) : undefined;
    if (clocks) applyClockOffsets(this.buffers, clocks);
    this.pageSize = main.pageSize;
    this.registry = buildRegistry(p.ftraceFormats, p.eventFormats, warnings);
    const maxCpu = Math.max(-1, ...main.cpus.map((c) => c.cpu));
    this.meta = {
      headerPage: p.headers.headerPage,
      headerEvent: p.headers.headerEvent,
      ftraceFormats: p.ftraceFormats,
      eventFormats: p.eventFormats,
      kallsyms: '',
      printk: p.printk,
      cmdlines: p.cmdlines,
      clock: main.clock,
      pageSize: main.pageSize,
      cpuCount: p.options.cpuCount ?? maxCpu + 1,
      ...(p.options.uname !== undefined ? { uname: p.options.uname } : {}),
      ...(main.name ? { instance: main.name } : {}),
      ...(p.options.maskset ? { maskset: p.options.maskset } : {}),
      ...(p.options.counts ? { counts: p.options.counts } : {}),
      ...(p.options.cpuStats.has(main.name) ? { cpuStats: p.options.cpuStats.get(main.name) } : {}),
      ...(p.options.lastBootInfo !== undefined ? { lastBootInfo: p.options.lastBootInfo } : {}),
      ...(p.modules !== undefined ? { modules: p.modules } : {}),
    };
    // The text only for those who ask for it (a copy of the trace): the symbols are read from the bytes.
    const stored = p.kallsyms;
    let kallsyms: string | Buffer | undefined = typeof stored === 'function' ? undefined : stored;
    const source = (): string | Buffer => (kallsyms ??= (stored as () => Buffer)());
    Object.defineProperty(this.meta, 'kallsyms', {
      enumerable: true,
      get: () => {
        const k = source();
        return typeof k === 'string' ? k : (kallsyms = textOf(k));
      },
      set: (v: string) => void (kallsyms = v),
    });
    this.kallsymsSource = source;
    this.btf = p.btf;
  }

  private readonly kallsymsSource: () => string | Buffer;

  get kallsyms(): KernelSymbols {
    if (this.symbols) return this.symbols;
    const lastBoot = this.meta.lastBootInfo ? parseLastBootInfo(this.meta.lastBootInfo) : undefined;
    if (!lastBoot) return (this.symbols = new KernelSymbols(this.kallsymsSource()));
    // A last boot's events name that boot's addresses; the stored kallsyms and modules are the reading boot's.
    const shifted = shiftKallsyms(this.meta.kallsyms, lastBoot, this.meta.modules);
    const warning = unplacedWarning(shifted);
    if (warning) this.warnings.push(warning);
    return (this.symbols = new KernelSymbols(shifted.text));
  }

  get printkFormats(): Map<bigint, string> {
    return (this.printk ??= parsePrintkFormats(this.meta.printk));
  }

  get cmdlines(): Map<number, string> {
    return (this.comms ??= parseCmdlines(this.meta.cmdlines));
  }

  close(): void {
    this.src.close();
  }
}

/** lkst's page decoder knows the 64-bit layout: u64 timestamp, 8-byte commit, data at 16. */
function checkHeaderPage(path: string, text: string): HeaderPage {
  let hp: HeaderPage;
  try {
    hp = parseHeaderPage(text);
  } catch (err) {
    throw corruptFile(path, `header_page: ${(err as Error).message}`);
  }
  if (hp.timestampOffset !== 0 || hp.commitOffset !== 8 || hp.commitSize !== 8 || hp.dataOffset !== 16) {
    throw new LkstError(`${path} was recorded on a kernel with another ring-buffer page layout (commit size ${hp.commitSize}, data at ${hp.dataOffset})`, 'lkst reads traces of 64-bit kernels; use trace-cmd report for this one');
  }
  return hp;
}

/** Formats are parsed when first used: a report of a few events need not parse the file's thousands. */
export function buildRegistry(ftrace: string[], events: { system: string; formats: string[] }[], warnings: string[]): EventRegistry {
  const reg = new EventRegistry();
  let bad = 0;
  const add = (text: string, system: string): void => {
    try {
      reg.addText(text, system);
    } catch (err) {
      if (++bad <= MAX_FORMAT_WARNINGS) warnings.push(`skipped an unreadable ${shownText(system, 64)} event format (${shownText((err as Error).message, 80)})`);
    }
  };
  for (const f of ftrace) add(f, 'ftrace');
  for (const s of events) for (const f of s.formats) add(f, s.system);
  if (bad > MAX_FORMAT_WARNINGS) warnings.push(`skipped ${bad - MAX_FORMAT_WARNINGS} more unreadable event formats`);
  return reg;
}

function parse(src: FileSource, warnings: string[]): Parts {
  const path = src.path;
  if (src.size === 0) throw new LkstError(`${path} is empty`, 'the recording wrote nothing into it; record again');
  if (src.size < MAGIC.length || !src.read(0, MAGIC.length).equals(MAGIC)) {
    throw new LkstError(`${path} is not a trace.dat file (wrong magic)`, 'give a file written by lkst record or trace-cmd record');
  }
  const c = new Cursor(src, MAGIC.length, src.size, path, 'file header');
  const verText = c.cstr('version', 16);
  const version = /^\d{1,4}$/.test(verText) ? Number(verText) : NaN;
  if (version !== 6 && version !== 7) {
    throw new LkstError(`${path} is trace.dat version '${shownText(verText, 16)}', which lkst cannot read`, 'lkst reads versions 6 and 7; convert it with `trace-cmd convert --file-version 7`');
  }
  const endian = c.u8('endianness');
  if (endian === 1) throw new LkstError(`${path} was recorded on a big-endian machine`, 'lkst reads little-endian traces; use trace-cmd report for this one');
  if (endian !== 0) throw c.fail(`endianness byte ${endian}`);
  const longSize = c.u8('long size');
  if (longSize !== 4 && longSize !== 8) throw c.fail(`long size ${longSize}`);
  const pageSize = checkPageSize(c, c.u32('page size'));
  return version === 7 ? parseV7(src, c, longSize, pageSize, warnings) : parseV6(src, c, longSize, pageSize, warnings);
}

function checkPageSize(c: Cursor, n: number): number {
  if (n < 256 || n > 1 << 24 || (n & (n - 1)) !== 0) throw c.fail(`page size ${n}`);
  return n;
}

// ---- version 7: sections found through options ----

function parseV7(src: FileSource, c: Cursor, longSize: number, pageSize: number, warnings: string[]): Parts {
  const path = src.path;
  const compression = c.cstr('compression name', 64);
  c.cstr('compression version', 64);
  const unzip = decompressorFor(compression, path);
  let at = c.u64('options offset');
  const records: OptionRecord[] = [];
  const seen = new Set<number>();
  while (at !== 0) {
    if (seen.has(at) || seen.size >= MAX_OPTION_SECTIONS) throw corruptFile(path, 'the options sections form a loop');
    seen.add(at);
    at = readOptionRecords(sectionCursor(src, at, Opt.DONE, 'options', unzip), 7, records);
  }
  const options = interpretOptions(records, 7, warnings);
  const section = <T>(id: number, name: string, read: (c: Cursor) => T, fallback: T | undefined): T => {
    const off = options.sections.get(id);
    if (off === undefined) {
      if (fallback === undefined) throw corruptFile(path, `no ${name} section`);
      warnings.push(`the file has no ${name}`);
      return fallback;
    }
    if (fallback === undefined) return read(sectionCursor(src, off, id, name, unzip));
    // A damaged section that the events do not need to be read (names, symbols) is left out, as trace-cmd does.
    try {
      return read(sectionCursor(src, off, id, name, unzip));
    } catch (err) {
      if (!(err instanceof CorruptFileError)) throw err;
      warnings.push(`the ${name} section is damaged (${err.detail}); read without it`);
      return fallback;
    }
  };
  const headers = section(Opt.HEADER_INFO, 'header_page/header_event', readHeaderInfo, undefined);
  const ftraceFormats = section(Opt.FTRACE_EVENTS, 'ftrace event formats', readFtraceFormats, []);
  const eventFormats = section(Opt.EVENT_FORMATS, 'event formats', readEventFormats, []);
  // Decompressed on first use: a report of events that print no symbol never needs it (~30 ms on a 6 M-event file).
  const kallsyms = () => section(Opt.KALLSYMS, 'kallsyms', (c) => readKallsyms(c, warnings), Buffer.alloc(0));
  const printk = section(Opt.PRINTK, 'printk formats', (c) => readPrintk(c, warnings), '');
  const cmdlines = section(Opt.CMDLINES, 'saved cmdlines', (c) => readCmdlines(c, warnings), '');
  // trace-cmd 3.4's whole-file sections (trace-output.c tracecmd_append_modules_file / _btf_file).
  const modules = options.sections.has(Opt.MODULES_FILE) ? section(Opt.MODULES_FILE, 'modules', (c) => c.bytes(c.remaining, 'modules').toString('utf8'), '') : undefined;
  const btf = options.sections.has(Opt.BTF_FILE) ? section(Opt.BTF_FILE, 'BTF', (c) => c.bytes(c.remaining, 'BTF'), Buffer.alloc(0)) : undefined;
  const flyrecords = options.buffers.filter((b) => !b.latency);
  if (!flyrecords.length && options.buffers.length) throw latencyFile(path);
  const buffers = flyrecords.map((b) => v7Buffer(src, b, pageSize, unzip, options, warnings));
  return { version: 7, compression, longSize, headers, ftraceFormats, eventFormats, kallsyms, printk, cmdlines, options, buffers, modules, btf };
}

/** A cursor over one v7 section's data, decompressed when the section is compressed. */
function sectionCursor(src: FileSource, at: number, id: number, name: string, unzip: Decompressor | undefined): Cursor {
  const c = new Cursor(src, at, src.size, src.path, `${name} section`);
  const h = readSectionHeader(c, id);
  if (h.size > c.remaining) throw c.fail(`section of ${h.size} bytes runs past the end of the file (${c.remaining} bytes left)`);
  if (!(h.flags & SEC_FL_COMPRESS)) return new Cursor(src, c.pos, c.pos + h.size, src.path, `${name} section`);
  if (!unzip) throw c.fail('compressed section in a file without compression');
  const csize = c.u32('compressed size');
  const rawSize = c.u32('uncompressed size');
  if (csize + 8 > h.size) throw c.fail(`compressed size ${csize} exceeds the section size ${h.size}`);
  // Metadata compresses a few times over; a claim far beyond that is a corrupt size, not worth allocating.
  if (rawSize > MAX_SECTION_BYTES || rawSize > Math.max(1 << 20, csize * 256)) throw c.fail(`uncompressed size ${rawSize} for ${csize} compressed bytes is implausible`);
  let raw: Buffer;
  try {
    raw = unzip.one(c.bytes(csize), rawSize);
  } catch (err) {
    throw c.fail(`does not decompress (${(err as Error).message})`);
  }
  return new Cursor(new BufferSource(raw), 0, raw.length, src.path, `${name} section`);
}

function readSectionHeader(c: Cursor, id: number): { flags: number; size: number } {
  const got = c.u16('section id');
  const flags = c.u16('section flags');
  c.u32('section description');
  const size = c.u64('section size');
  if (got !== id) throw c.fail(`found section id ${got} where id ${id} belongs`);
  return { flags, size };
}

function v7Buffer(src: FileSource, b: BufferOption, filePageSize: number, unzip: Decompressor | undefined, options: FileOptions, warnings: string[]): FileBuffer {
  const c = new Cursor(src, b.offset, src.size, src.path, `buffer '${b.name}'`);
  const pageSize = b.pageSize ? checkPageSize(c, b.pageSize) : filePageSize;
  const cpus: CpuStream[] = [];
  const list = b.cpus ?? [];
  if (list.length) {
    const { flags } = readSectionHeader(c, Opt.BUFFER);
    const compressed = (flags & SEC_FL_COMPRESS) !== 0;
    if (compressed && !unzip) throw c.fail('compressed trace data in a file without compression');
    for (const e of list) {
      if (e.cpu >= MAX_CPUS) throw c.fail(`CPU number ${e.cpu}`);
      const s = compressed ? compressedCpuStream(src, e.cpu, e.offset, e.size, pageSize, unzip!, warnings) : plainCpuStream(src, e.cpu, e.offset, e.size, pageSize, warnings);
      cpus.push(s);
    }
  }
  attachStats(cpus, options.cpuStats.get(b.name));
  return { name: b.name, clock: b.clock ?? options.clock ?? 'local', pageSize, cpus };
}

function attachStats(cpus: CpuStream[], stats: (string | undefined)[] | undefined): void {
  if (!stats) return;
  for (const s of cpus) {
    const text = stats[s.cpu];
    if (text === undefined) continue;
    s.statsText = text;
    s.counters = lossCountersOfStats(text);
  }
}

function latencyFile(path: string): LkstError {
  return new LkstError(`${path} holds a latency (text) trace, not per-CPU ring-buffer pages`, 'lkst reads flyrecord traces; record with lkst record or trace-cmd record');
}

// ---- version 6: everything in sequence ----

function parseV6(src: FileSource, c: Cursor, longSize: number, pageSize: number, warnings: string[]): Parts {
  const path = src.path;
  const headers = readHeaderInfo(c);
  const ftraceFormats = readFtraceFormats(c);
  const eventFormats = readEventFormats(c);
  const kallsyms = readKallsyms(c);
  const printk = readPrintk(c);
  let cmdlines = readCmdlines(c);
  const cmdlinesEnd = c.pos;
  let headerCpus = c.u32('CPU count');
  const records: OptionRecord[] = [];
  let tag = c.bytes(10, 'data tag').toString('latin1');
  const found = TAGS_V6.includes(tag) ? -1 : findTag(src, cmdlinesEnd);
  if (found >= 0) {
    // The cmdlines size (the last size before the tag) is off by a few bytes: the tag is near.
    const d = found - 4 - cmdlinesEnd;
    warnings.push(`the saved cmdlines size is ${Math.abs(d)} byte(s) too ${d < 0 ? 'large' : 'small'}; found the trace data ${Math.abs(d)} byte(s) ${d < 0 ? 'earlier' : 'later'}`);
    cmdlines = cmdlines.slice(0, Math.max(0, cmdlines.length + Math.min(0, d)));
    cmdlines = cmdlines.slice(0, cmdlines.lastIndexOf('\n') + 1);
    c.pos = found - 4;
    headerCpus = c.u32('CPU count');
    tag = c.bytes(10, 'data tag').toString('latin1');
  }
  if (tag === TAG_OPTIONS + '\0') {
    readOptionRecords(c, 6, records);
    tag = c.bytes(10, 'data tag').toString('latin1');
  }
  const options = interpretOptions(records, 6, warnings);
  if (tag === TAG_LATENCY + '\0') throw latencyFile(path);
  if (tag !== TAG_FLYRECORD + '\0') throw c.fail(`unknown data tag '${shownText(tag)}'`);
  const ncpu = options.cpuCount ?? headerCpus;
  if (ncpu > MAX_CPUS) throw c.fail(`CPU count ${ncpu}`);
  const top = v6Buffer(src, c, '', ncpu, pageSize, options, warnings);
  const buffers = [top];
  for (const b of options.buffers) {
    if (b.latency) continue;
    const bc = new Cursor(src, b.offset, src.size, path, `buffer '${b.name}'`);
    let btag = bc.bytes(10, 'data tag').toString('latin1');
    if (btag === TAG_OPTIONS + '\0') {
      readOptionRecords(bc, 6, []);
      btag = bc.bytes(10, 'data tag').toString('latin1');
    }
    if (btag !== TAG_FLYRECORD + '\0') throw bc.fail('no flyrecord tag');
    buffers.push(v6Buffer(src, bc, b.name, ncpu, pageSize, options, warnings));
  }
  return { version: 6, compression: 'none', longSize, headers, ftraceFormats, eventFormats, kallsyms, printk, cmdlines, options, buffers };
}

const TAGS_V6 = [TAG_OPTIONS, TAG_LATENCY, TAG_FLYRECORD].map((t) => t + '\0');
const TAG_SEARCH = 256;

/** Where a v6 data tag starts within TAG_SEARCH bytes of where it belongs (after a CPU count); -1 when none. */
function findTag(src: FileSource, at: number): number {
  const from = Math.max(0, at - TAG_SEARCH);
  const win = src.read(from, Math.min(src.size - from, 2 * TAG_SEARCH + 14));
  let best = -1;
  for (const t of TAGS_V6) {
    const i = win.indexOf(t, 0, 'latin1');
    const pos = from + i;
    if (i >= 4 && (best < 0 || Math.abs(pos - at) < Math.abs(best - at))) best = pos;
  }
  return best;
}

/** The per-CPU (offset, size) table after a flyrecord tag, then the trace_clock text when the file has one. */
function v6Buffer(src: FileSource, c: Cursor, name: string, ncpu: number, pageSize: number, options: FileOptions, warnings: string[]): FileBuffer {
  if (ncpu * 16 > c.remaining) throw c.fail(`the table of ${ncpu} CPUs runs past the end`);
  const cpus: CpuStream[] = [];
  for (let cpu = 0; cpu < ncpu; cpu++) {
    const offset = c.u64('CPU data offset');
    const size = c.u64('CPU data size');
    cpus.push(plainCpuStream(src, cpu, offset, size, pageSize, warnings));
  }
  let clock = options.clock ?? 'local';
  if (options.clock !== undefined) {
    try {
      clock = /\[([^\]\s]+)\]/.exec(c.sizedText(8, 'trace_clock'))?.[1] ?? clock;
    } catch {
      warnings.push(`buffer '${name}': the trace_clock text is missing; using ${clock}`);
    }
  }
  attachStats(cpus, options.cpuStats.get(name));
  return { name, clock, pageSize, cpus };
}
