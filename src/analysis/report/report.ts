/**
 * `lkst report`: reads a trace.dat (lkst's or trace-cmd's, v6/v7), merges the CPUs of every
 * buffer by time and prints each event as `trace-cmd report` does, or as JSON lines.
 */
import type { EventFormat } from '../../events/format.js';
import { CommTable, type RenderContext } from '../../events/printfmt/context.js';
import { EventRenderers, renderToString, type CompiledEvent } from '../../events/printfmt/event.js';
import { syscallName } from '../syscall-names.js';
import type { KernelSymbols } from '../../events/kallsyms.js';
import { latin1Bytes } from '../../events/printfmt/writer.js';
import { i32le, u16le } from '../../events/printfmt/num.js';
import type { CpuStream } from '../../file/reader.js';
import { openTrace, type OpenOptions } from '../../sources/open.js';
import { LossLedger, type CpuLoss, type LossPlace } from '../../trace/loss.js';
import { selectBuffers, type Trace } from '../../trace/model.js';
import { rawMergeNote } from '../../trace/clocks.js';
import { mergeRecords, type MergeInput, type MergeVisitor } from '../../ringbuf/merge.js';
import type { EventRegistry } from '../../events/registry.js';
import type { TextWriter } from '../../events/printfmt/writer.js';
import { LkstError } from '../../base/errors.js';
import type { EventSelection } from './event-filter.js';
import { FtraceCalls } from './ftrace-calls.js';
import { compileFieldsJson } from './json-fields.js';
import { clockInNs, cpuColumn, nameColumn, padLeft, rawTimeColumn, taskColumn } from './line-head.js';
import { OutputSink, type ReportOutput } from './sink.js';
import { prefetchInputs } from './prefetch.js';
import { RangeWorkers, parallelThreads, threadsAsked } from './parallel.js';
import { rangeBounds } from './ranges.js';

export interface ReportOptions {
  /** One JSON object per line instead of trace-cmd's text. */
  json?: boolean;
  /** Only these events: LKST names, system:event, globs (as `lkst record -e`). */
  events?: string[];
  cpu?: number;
  pid?: number;
  /** Where to write: a file descriptor or a stream (default: stdout). */
  out?: ReportOutput;
  /** Render with trace-cmd's plugin formats (default true). */
  plugins?: boolean;
  /** Only these buffers (all when none). */
  buffers?: readonly string[];
  /** raw_syscalls sys_enter/sys_exit show the syscall's name ("NR 0" becomes "NR 0 read"); off by default, so the text stays trace-cmd's. */
  syscallNames?: boolean;
  /** Worker threads rendering time ranges of the text (default LKST_REPORT_THREADS, else one for a big trace on a machine with two CPUs or more: parallel.ts). */
  threads?: number;
  /** Tests: the page data from which a worker is taken when threads is not given (default AUTO_WORKER_BYTES, parallel.ts). */
  autoWorkerBytes?: number;
  /** Tests: this thread renders at most this many time ranges and leaves the rest to the workers. */
  mainRanges?: number;
  /** Told how the ranges were shared: this thread's, the workers', and whether the workers' text was used. */
  onRanges?: (r: { main: number; workers: number; used: boolean; why?: string }) => void;
  /** Told before the first line when the buffers' clocks differ: the raw merge (trace-cmd's, kept) then mixes clocks. */
  onClockNote?: (note: string) => void;
}

export interface ReportSummary {
  /** Records read from the file (before filters). */
  records: number;
  /** Events printed. */
  printed: number;
  /** Events the kernel lost, per buffer and CPU, settled by the loss ledger (the same figures as stats). */
  loss: { cpus: CpuLoss[]; unplaced: LossPlace[] };
  /** Pages that could not be decoded and were skipped. */
  corruptPages: number;
  bytes: number;
  warnings: string[];
}

/** Per event id: what the hot loop needs, built on first use. */
export interface EventView {
  compiled: CompiledEvent;
  nameCol: Uint8Array;
  pidOff: number;
  json?: (b: Buffer, off: number, len: number) => string;
  jsonHead: string;
  /** Offset of the syscall number, for raw_syscalls events when --syscall-names is on. */
  syscallNr?: number;
}

export interface InputInfo {
  cpu: number;
  prefix: string;
  cpuCol: Uint8Array;
  bufferName: string;
  inNs: boolean;
  counters: CpuStream['counters'];
}

/** The three ASCII digits of 0..999, packed in one number each. */
const DIGITS3 = Int32Array.from({ length: 1000 }, (_, i) => ((48 + Math.floor(i / 100)) << 16) | ((48 + (Math.floor(i / 10) % 10)) << 8) | (48 + (i % 10)));

const UNKNOWN_LINE = '[UNKNOWN EVENT][UNKNOWN EVENT]' + nameColumn('(NULL)') + '[UNKNOWN EVENT]';

export async function runReport(path: string, opts: ReportOptions & OpenOptions = {}): Promise<ReportSummary> {
  // Workers start first thing: they load their modules and open the file while this thread does.
  // (Chosen by the trace's size, a worker starts once the file is open.)
  const asked = threadsAsked(opts) ?? 0;
  const early = asked > 0 && !opts.json ? new RangeWorkers(path, opts, asked) : undefined;
  const file = await openTrace(path, opts);
  try {
    return await reportTrace(file, opts, early);
  } finally {
    early?.close();
    file.close();
  }
}

/** The render context of a trace file: its saved cmdlines, kallsyms and printk formats. */
export function renderContextOf(file: Pick<Trace, 'cmdlines' | 'kallsyms' | 'printkFormats'>, comms?: CommTable): RenderContext {
  // The trace's own tables (each parsed once); kallsyms and printk formats when an event first needs them.
  return {
    comms: comms ?? CommTable.fromMap(file.cmdlines),
    get symbols(): KernelSymbols {
      return file.kallsyms;
    },
    get printk(): ReadonlyMap<bigint, string> {
      return file.printkFormats;
    },
  };
}

function eventView(compiled: CompiledEvent, json: boolean, syscallNames: boolean): EventView {
  const fmt: EventFormat = compiled.fmt;
  const pid = fmt.fieldByName.get('common_pid');
  const nr = syscallNames && fmt.system === 'raw_syscalls' ? fmt.fieldByName.get('id') : undefined;
  return {
    ...(nr ? { syscallNr: nr.offset } : {}),
    compiled,
    nameCol: latin1Bytes(nameColumn(fmt.name)),
    pidOff: pid ? pid.offset : 4,
    json: json ? compileFieldsJson(fmt) : undefined,
    jsonHead: `,"event":${JSON.stringify(fmt.name)},"system":${JSON.stringify(fmt.system)},"fields":`,
  };
}

/** The CPU streams report reads (in merge order) and how their lines are labelled. */
export function reportStreams(file: Trace, opts: Pick<ReportOptions, 'buffers' | 'cpu'>): { streams: CpuStream[]; infos: InputInfo[] } {
  // trace-cmd labels every line with its buffer when the file has named buffers; the top-level
  // buffer's label is blank (`trace-cmd report FILE` gives it no name).
  const named = file.buffers.some((b) => b.name !== '');
  const width = named ? Math.max(...file.buffers.map((b) => b.name.length)) : 0;
  const label = (name: string): string => (name ? padLeft(name, width) + ': ' : ' '.repeat(width) + '  ');
  const streams: CpuStream[] = [];
  const infos: InputInfo[] = [];
  for (const buf of selectBuffers(file, opts.buffers)) {
    for (const cs of buf.cpus) {
      if (cs.size === 0 || (opts.cpu !== undefined && cs.cpu !== opts.cpu)) continue;
      streams.push(cs);
      infos.push({
        cpu: cs.cpu,
        prefix: named ? label(buf.name) : '',
        cpuCol: latin1Bytes(cpuColumn(cs.cpu)),
        bufferName: buf.name,
        inNs: clockInNs(buf.clock),
        counters: cs.counters,
      });
    }
  }
  return { streams, infos };
}

export async function reportTrace(file: Trace, opts: ReportOptions = {}, started?: RangeWorkers): Promise<ReportSummary> {
  const { streams, infos } = reportStreams(file, opts);
  const note = opts.onClockNote && rawMergeNote(selectBuffers(file, opts.buffers));
  if (note) opts.onClockNote!(note);
  const threads = parallelThreads(file, opts, streams);
  const workers = threads > 0 ? (started ?? new RangeWorkers(file.path, opts, threads)) : undefined;
  try {
    const ctx = renderContextOf(file);
    const wanted = opts.events?.length ? (await import('./event-filter.js')).eventSelection(opts.events, file.registry) : undefined;
    if (wanted && wanted.size === 0) throw new LkstError(`none of the events ${opts.events!.join(', ')} is in ${file.path}`, 'see the events the file holds with `lkst report` without -e');
    const tsOffset = Number(file.tsOffset);
    const inputs: MergeInput[] = streams.map((cs) => ({ chunks: { [Symbol.iterator]: () => cs.chunks(true)[Symbol.iterator]() }, pageSize: cs.pageSize, tsOffset }));
    const printer = (p: PrintPass): RecordPrinter => recordPrinter(file.registry, ctx, opts, infos, wanted, p.w, p.ledger, p.summary);
    const bounds = workers && rangeBounds(streams, tsOffset);
    if (workers && bounds?.length) return await reportPass(file, opts, infos, (p) => workers.print(bounds, inputs, printer(p), p, ctx.comms, opts));
    // Compressed pages are decompressed on a worker thread while this one renders.
    const prefetch = prefetchInputs(file, streams, inputs);
    try {
      return await reportPass(file, opts, infos, (p) => {
        const print = printer(p);
        const records = mergeRecords(inputs, print, { onCorruptPage: p.corruptPage });
        print.flush();
        return records;
      });
    } finally {
      prefetch?.close();
    }
  } finally {
    workers?.close();
  }
}

/** What a pass over the records needs to print and count: the writer, the ledger, the summary. */
export interface PrintPass {
  w: TextWriter;
  ledger: LossLedger;
  summary: ReportSummary;
  /** A page that could not be decoded: counted, its loss unknown, a warning. */
  corruptPage: (input: number, page: number, message: string) => void;
}

/** Runs one pass printing the records (pass returns how many it read) and settles the summary. */
async function reportPass(file: Trace, opts: ReportOptions, infos: InputInfo[], pass: (p: PrintPass) => number): Promise<ReportSummary> {
  const sink = new OutputSink(opts.out ?? process.stdout);
  const w = sink.w;
  const warnedBefore = file.warnings.length;
  const summary: ReportSummary = { records: 0, printed: 0, loss: { cpus: [], unplaced: [] }, corruptPages: 0, bytes: 0, warnings: [...file.warnings] };
  const ledger = ledgerOf(infos);
  if (!opts.json) w.str(reportHeader(file.meta.cpuCount));
  summary.records = pass({
    w,
    ledger,
    summary,
    corruptPage: (input, page, message) => {
      summary.corruptPages++;
      ledger.unreadable(input);
      if (summary.warnings.length < 100) summary.warnings.push(`CPU ${infos[input]!.cpu}: page ${page} skipped: ${message}`);
    },
  });
  await sink.end();
  summary.bytes = sink.bytes;
  summary.loss = ledger.finish();
  // What the file reader noticed while reading the pages (a cut-off end, ...).
  summary.warnings.push(...file.warnings.slice(warnedBefore));
  return summary;
}

/** The line report's text starts with. */
export function reportHeader(cpuCount: number): string {
  return `cpus=${cpuCount}\n`;
}

/** The loss ledger of a report's inputs. */
export function ledgerOf(infos: readonly InputInfo[]): LossLedger {
  return new LossLedger(infos.map((i) => ({ buffer: i.bufferName, cpu: i.cpu, counters: i.counters })));
}

/** An input of the top-level (unnamed) buffer, labelled as report labels it. */
export function plainInputInfo(cpu: number, clock: string, counters: CpuStream['counters']): InputInfo {
  return { cpu, prefix: '', cpuCol: latin1Bytes(cpuColumn(cpu)), bufferName: '', inNs: clockInNs(clock), counters };
}

/** Writes the parts of report's text lines around each event's own text. */
export interface LineWriter {
  /** The line of lost events before a record. */
  lost(input: number, missed: number): void;
  /** A whole line for a record of an event the file has no format for. */
  unknown(input: number, missed: number): void;
  /** "<label>: <comm>-<pid> [cpu] <time>: <name>: " of a record (missed: a lost line came just before). */
  head(input: number, ts: number, pid: number, nameCol: Uint8Array, missed: number): void;
}

export function lineWriter(ctx: RenderContext, infos: readonly InputInfo[], w: TextWriter): LineWriter {
  const tasks = new Map<number, Uint8Array>();
  const taskCol = (pid: number): Uint8Array => {
    let t = tasks.get(pid);
    if (t !== undefined) return t;
    t = latin1Bytes(taskColumn(ctx.comms.get(pid), pid));
    if (ctx.comms.has(pid)) tasks.set(pid, t);
    return t;
  };

  // "<label>: <comm>-<pid> [cpu]" per input and task, while the task's name is known.
  const heads = new Map<number, Uint8Array>();
  const headOf = (input: number, pid: number, info: InputInfo): Uint8Array => {
    const key = pid * 1024 + input;
    let h = heads.get(key);
    if (h) return h;
    h = latin1Bytes(info.prefix + taskColumn(ctx.comms.get(pid), pid) + cpuColumn(info.cpu));
    if (ctx.comms.has(pid) && input < 1024) heads.set(key, h);
    return h;
  };
  // Neighbouring records often share the task and the second.
  let lastSecs = -1;
  let secsCol: Uint8Array = new Uint8Array(0);
  let lastPid = -1;
  let lastInput = -1;
  let lastHead: Uint8Array = new Uint8Array(0);
  // lastHead and secsCol joined (for the head of a line without a loss before it).
  let joined: Uint8Array = new Uint8Array(0);
  let joinedHead: Uint8Array | undefined;
  let joinedSecs: Uint8Array | undefined;
  const lines: LineWriter = {
    lost(input, missed) {
      const info = infos[input]!;
      w.str(info.prefix + (missed > 0 ? `CPU:${info.cpu} [${missed} EVENTS DROPPED]\n` : `CPU:${info.cpu} [EVENTS DROPPED]\n`));
    },
    unknown(input, missed) {
      w.str((missed ? '' : infos[input]!.prefix) + UNKNOWN_LINE + '\n');
    },
    head(input, ts, pid, name, missed) {
      const info = infos[input]!;
      if (missed || !info.inNs) {
        task(input, pid, missed);
        clock(input, ts, name);
        return;
      }
      // The task columns and the seconds in one copy while both stay as on the line before.
      const us = Math.floor((ts + 500) / 1000);
      const secs = Math.floor(us / 1e6);
      const head = taskHead(input, pid, info);
      const sc = secondsCol(secs);
      if (head !== joinedHead || sc !== joinedSecs) {
        joinedHead = head;
        joinedSecs = sc;
        joined = new Uint8Array(head.length + sc.length);
        joined.set(head);
        joined.set(sc, head.length);
      }
      w.bytes(joined);
      usecsAndName(us - secs * 1e6, name);
    },
  };

  /** "<label>: <comm>-<pid> [cpu]", the part that depends on the task names known. */
  function task(input: number, pid: number, missed: number): void {
    const info = infos[input]!;
    const head = taskHead(input, pid, info);
    if (missed) {
      // After a dropped-events line the buffer label is not repeated.
      w.bytes(taskCol(pid));
      w.bytes(info.cpuCol);
    } else w.bytes(head);
  }

  /** " <time>: <name>: ". */
  function clock(input: number, ts: number, name: Uint8Array): void {
    if (!infos[input]!.inNs) {
      w.str(rawTimeColumn(ts));
      w.bytes(name);
      return;
    }
    // " %5lu.%06lu: " of the time rounded to microseconds, then the event name column.
    const us = Math.floor((ts + 500) / 1000);
    const secs = Math.floor(us / 1e6);
    w.bytes(secondsCol(secs));
    usecsAndName(us - secs * 1e6, name);
  }

  /** "<label>: <comm>-<pid> [cpu]" of the task; a task without a name yet may get one from a later sched_switch: looked up again then. */
  function taskHead(input: number, pid: number, info: InputInfo): Uint8Array {
    if (pid !== lastPid || input !== lastInput) {
      lastHead = headOf(input, pid, info);
      lastPid = ctx.comms.has(pid) ? pid : -1;
      lastInput = input;
    }
    return lastHead;
  }

  /** " %5lu." of the seconds. */
  function secondsCol(secs: number): Uint8Array {
    if (secs !== lastSecs) {
      lastSecs = secs;
      secsCol = latin1Bytes(' ' + padLeft(String(secs), 5) + '.');
    }
    return secsCol;
  }

  /** "%06lu: " of the microseconds, then the event's name column. */
  function usecsAndName(frac: number, name: Uint8Array): void {
    w.need(7 + name.length);
    const ob = w.buf;
    let p = w.pos;
    const hi = (frac / 1000) | 0;
    const a = DIGITS3[hi]!;
    const c = DIGITS3[frac - hi * 1000]!;
    ob[p++] = a >>> 16;
    ob[p++] = (a >>> 8) & 0xff;
    ob[p++] = a & 0xff;
    ob[p++] = c >>> 16;
    ob[p++] = (c >>> 8) & 0xff;
    ob[p++] = c & 0xff;
    ob[p++] = 58;
    // A typed-array copy costs about as much as a 12-byte loop (measured); names are longer.
    if (name.length < 16) for (let i = 0; i < name.length; i++) ob[p++] = name[i]!;
    else {
      ob.set(name, p);
      p += name.length;
    }
    w.pos = p;
  }
  return lines;
}

/** An event's own text after the line head; trace-cmd drops one newline that ends it. */
export function writeBody(view: EventView, b: Buffer, off: number, len: number, ctx: RenderContext, w: TextWriter): void {
  const before = w.total;
  if (view.syscallNr !== undefined) {
    // "NR 257 (...)" -> "NR 257 openat (...)": rendered apart, so the name goes in whole.
    const text = renderToString(view.compiled, b, off, len, ctx);
    const nr = view.syscallNr + 8 <= len ? Number(b.readBigInt64LE(off + view.syscallNr)) : NaN;
    w.str(Number.isNaN(nr) ? text : text.replace(/^NR (-?\d+)/, `NR $1 ${syscallName(nr)}`));
  } else view.compiled.render(b, off, len, ctx, w);
  if (w.total > before && w.buf[w.pos - 1] === 10) {
    w.pos--;
  }
}

/** Per event id, its view (null: no format), built on first use. */
export function eventViews(registry: EventRegistry, opts: Pick<ReportOptions, 'json' | 'plugins' | 'syscallNames'>): (id: number) => EventView | null {
  const renderers = new EventRenderers((id) => registry.get(id), { plugins: opts.plugins });
  const views: (EventView | null | undefined)[] = [];
  return (id) => {
    let view = views[id];
    if (view === undefined) {
      const c = renderers.get(id);
      view = views[id] = c ? eventView(c, !!opts.json, !!opts.syscallNames) : null;
    }
    return view;
  };
}

/**
 * A report's merge visitor. flush(): prints records it held back (call after the last record);
 * history(): whether text it printed depends on records before it (the function tracers' events).
 */
export type RecordPrinter = MergeVisitor & { flush(): void; history(): boolean };

/**
 * The merge visitor that prints each record as report does (trace-cmd's text or JSON lines) into w,
 * the ledger placing lost events inline, summary.printed counting what was printed.
 */
export function recordPrinter(
  registry: EventRegistry,
  ctx: RenderContext,
  opts: ReportOptions,
  infos: readonly InputInfo[],
  wanted: EventSelection | undefined,
  w: TextWriter,
  ledger: Pick<LossLedger, 'place' | 'seen'>,
  summary: Pick<ReportSummary, 'printed'>,
  viewOf = eventViews(registry, opts),
): RecordPrinter {
  const json = !!opts.json;
  const pidFilter = opts.pid;
  const lines = lineWriter(ctx, infos, w);
  // trace-cmd's text of the function tracers' events (its own handlers, not their print formats).
  const calls = json || opts.plugins === false ? undefined : new FtraceCalls(registry, (i) => infos[i]!.cpu, (i) => infos[i]!.bufferName);
  const visit: MergeVisitor = (input, ts, b, off, len, missed) => {
    // Losses from before the recording began are not this trace's: the ledger takes them out.
    if (missed) missed = ledger.place(input, missed);
    ledger.seen(input, ts);
    const id = u16le(b, off);
    if (wanted) {
      const f = wanted.get(id);
      if (f === undefined || (f !== null && !f(b, off, len))) return;
    }
    const view = viewOf(id);
    const pid = i32le(b, off + (view ? view.pidOff : 4));
    if (pidFilter !== undefined && pid !== pidFilter) return;
    const info = infos[input]!;
    if (json) {
      if (missed) w.str(`{"ts":${ts},"cpu":${info.cpu},"lost":${missed > 0 ? missed : 'null'}}\n`);
      summary.printed++;
      let s = `{"ts":${ts},"cpu":${info.cpu},"pid":${pid},"comm":${JSON.stringify(ctx.comms.get(pid))}`;
      if (info.bufferName) s += `,"buffer":${JSON.stringify(info.bufferName)}`;
      if (!view) s += `,"event":null,"id":${id}}`;
      else s += view.jsonHead + view.json!(b, off, len) + '}';
      w.str(s + '\n');
      return;
    }
    if (missed) lines.lost(input, missed);
    summary.printed++;
    if (!view) return lines.unknown(input, missed);
    lines.head(input, ts, pid, view.nameCol, missed);
    if (calls?.renders(id)) calls.body(id, b, off, ctx, w, input);
    else writeBody(view, b, off, len, ctx, w);
    w.ch(10);
  };
  const folded = calls?.fold(visit);
  return Object.assign(folded?.visit ?? visit, { flush: folded?.flush ?? (() => {}), history: () => calls?.history ?? false });
}
