/**
 * `lkst report`: reads a trace.dat (lkst's or trace-cmd's, v6/v7), merges the CPUs of every
 * buffer by time and prints each event as `trace-cmd report` does, or as JSON lines.
 */
import { basename } from 'node:path';
import type { EventFormat } from '../../events/format.js';
import { CommTable, type RenderContext } from '../../events/printfmt/context.js';
import { EventRenderers, type CompiledEvent } from '../../events/printfmt/event.js';
import { KernelSymbols } from '../../events/printfmt/symbols.js';
import { openTraceDat, type TraceFile } from '../../file/reader.js';
import { mergeRecords, type MergeInput } from '../../ringbuf/merge.js';
import { LkstError } from '../../tracefs/errors.js';
import { eventIdsFor } from './event-filter.js';
import { compileFieldsJson } from './json-fields.js';
import { clockInNs, cpuColumn, nameColumn, padLeft, rawTimeColumn, taskColumn, timeColumn } from './line-head.js';
import { ChunkSink, type ReportOutput } from './sink.js';

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
}

export interface ReportSummary {
  /** Records read from the file (before filters). */
  records: number;
  /** Events printed. */
  printed: number;
  /** Events the kernel lost, as counted in the pages (printed as "[N EVENTS DROPPED]"). */
  lost: number;
  /** Pages that flagged a loss without a count. */
  lostUncounted: number;
  /** Pages that could not be decoded and were skipped. */
  corruptPages: number;
  bytes: number;
  warnings: string[];
}

/** Per event id: what the hot loop needs, built on first use. */
interface EventView {
  compiled: CompiledEvent;
  nameCol: string;
  pidOff: number;
  json?: (b: Buffer, off: number, len: number) => string;
  jsonHead: string;
}

interface InputInfo {
  cpu: number;
  prefix: string;
  cpuCol: string;
  bufferName: string;
  inNs: boolean;
}

const UNKNOWN_LINE = '[UNKNOWN EVENT][UNKNOWN EVENT]' + nameColumn('(NULL)') + '[UNKNOWN EVENT]';

export async function runReport(path: string, opts: ReportOptions = {}): Promise<ReportSummary> {
  const file = openTraceDat(path);
  try {
    return await reportTrace(file, opts);
  } finally {
    file.close();
  }
}

/** The render context of a trace file: its saved cmdlines, kallsyms and printk formats. */
export function renderContextOf(file: TraceFile): RenderContext {
  return {
    comms: CommTable.fromSavedCmdlines(file.meta.cmdlines),
    symbols: KernelSymbols.fromKallsyms(file.meta.kallsyms),
    printk: file.printkFormats,
  };
}

function eventView(compiled: CompiledEvent, json: boolean): EventView {
  const fmt: EventFormat = compiled.fmt;
  const pid = fmt.fieldByName.get('common_pid');
  return {
    compiled,
    nameCol: nameColumn(fmt.name),
    pidOff: pid ? pid.offset : 4,
    json: json ? compileFieldsJson(fmt) : undefined,
    jsonHead: `,"event":${JSON.stringify(fmt.name)},"system":${JSON.stringify(fmt.system)},"fields":`,
  };
}

export async function reportTrace(file: TraceFile, opts: ReportOptions = {}): Promise<ReportSummary> {
  const json = !!opts.json;
  const sink = new ChunkSink(opts.out ?? process.stdout);
  const ctx = renderContextOf(file);
  const renderers = new EventRenderers((id) => file.registry.get(id), { plugins: opts.plugins });
  const wanted = opts.events && opts.events.length ? eventIdsFor(opts.events, file.registry) : undefined;
  if (wanted && wanted.size === 0) throw new LkstError(`none of the events ${opts.events!.join(', ')} is in ${file.path}`, 'see the events the file holds with `lkst report` without -e');
  const pidFilter = opts.pid;
  const cpuFilter = opts.cpu;

  // trace-cmd labels every line with its buffer when the file has named buffers.
  const named = file.buffers.some((b) => b.name !== '');
  const label = (name: string): string => name || basename(file.path);
  const width = named ? Math.max(...file.buffers.map((b) => label(b.name).length), basename(file.path).length) : 0;
  const inputs: MergeInput[] = [];
  const infos: InputInfo[] = [];
  const tsOffset = Number(file.options.tsOffset ?? 0n);
  for (const buf of file.buffers) {
    for (const cs of buf.cpus) {
      if (cs.size === 0 || (cpuFilter !== undefined && cs.cpu !== cpuFilter)) continue;
      inputs.push({ chunks: { [Symbol.iterator]: () => cs.chunks()[Symbol.iterator]() }, pageSize: cs.pageSize, tsOffset });
      infos.push({
        cpu: cs.cpu,
        prefix: named ? padLeft(label(buf.name), width) + ': ' : '',
        cpuCol: cpuColumn(cs.cpu),
        bufferName: buf.name,
        inNs: clockInNs(buf.clock),
      });
    }
  }

  const summary: ReportSummary = { records: 0, printed: 0, lost: 0, lostUncounted: 0, corruptPages: 0, bytes: 0, warnings: [...file.warnings] };
  if (!json) sink.add(`cpus=${file.meta.cpuCount}\n`);

  const views: (EventView | null | undefined)[] = [];
  const tasks = new Map<number, string>();
  const taskCol = (pid: number): string => {
    let t = tasks.get(pid);
    if (t !== undefined) return t;
    t = taskColumn(ctx.comms.get(pid), pid);
    if (ctx.comms.has(pid)) tasks.set(pid, t);
    return t;
  };

  // Neighbouring records often share the task and the microsecond.
  let lastTs = -1;
  let lastTime = '';
  let lastInNs = true;
  let lastPid = -1;
  let lastTask = '';
  summary.records = mergeRecords(
    inputs,
    (input, ts, b, off, len, missed) => {
      const id = b.readUInt16LE(off);
      if (wanted && !wanted.has(id)) return;
      let view = views[id];
      if (view === undefined) {
        const c = renderers.get(id);
        view = views[id] = c ? eventView(c, json) : null;
      }
      const pid = view ? b.readInt32LE(off + view.pidOff) : b.readInt32LE(off + 4);
      if (pidFilter !== undefined && pid !== pidFilter) return;
      const info = infos[input]!;
      if (missed) {
        if (missed > 0) summary.lost += missed;
        else summary.lostUncounted++;
        if (json) sink.add(`{"ts":${ts},"cpu":${info.cpu},"lost":${missed > 0 ? missed : 'null'}}\n`);
        else sink.add(info.prefix + (missed > 0 ? `CPU:${info.cpu} [${missed} EVENTS DROPPED]\n` : `CPU:${info.cpu} [EVENTS DROPPED]\n`));
      }
      summary.printed++;
      if (json) {
        let s = `{"ts":${ts},"cpu":${info.cpu},"pid":${pid},"comm":${JSON.stringify(ctx.comms.get(pid))}`;
        if (info.bufferName) s += `,"buffer":${JSON.stringify(info.bufferName)}`;
        if (!view) s += `,"event":null,"id":${id}}`;
        else s += view.jsonHead + view.json!(b, off, len) + '}';
        sink.add(s + '\n');
        return;
      }
      const prefix = missed ? '' : info.prefix;
      if (!view) {
        sink.add(prefix + UNKNOWN_LINE + '\n');
        return;
      }
      if (ts !== lastTs || info.inNs !== lastInNs) {
        lastTs = ts;
        lastInNs = info.inNs;
        lastTime = info.inNs ? timeColumn(ts) : rawTimeColumn(ts);
      }
      if (pid !== lastPid) {
        lastTask = taskCol(pid);
        // A task without a name yet may get one from a later sched_switch: look it up again then.
        lastPid = ctx.comms.has(pid) ? pid : -1;
      }
      const head = prefix + lastTask + info.cpuCol + lastTime;
      let text = view.compiled.render(b, off, len, ctx);
      if (text.length && text.charCodeAt(text.length - 1) === 10) text = text.slice(0, -1);
      sink.add(head + view.nameCol + text + '\n');
    },
    {
      onCorruptPage: (input, page, message) => {
        summary.corruptPages++;
        if (summary.warnings.length < 100) summary.warnings.push(`CPU ${infos[input]!.cpu}: page ${page} skipped: ${message}`);
      },
    },
  );
  await sink.end();
  summary.bytes = sink.bytes;
  return summary;
}
