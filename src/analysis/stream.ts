/**
 * Walks a trace's records in time order across every selected buffer and CPU (the ring-buffer
 * k-way merge), one page per stream decoded at a time, so a trace of any size streams through in
 * bounded memory. Losses are settled by the one ledger (trace/loss.ts) as they are met. A buffer on
 * another clock is put on the first buffer's by its measured offset (trace/clocks.ts); one whose
 * offset is unknown stays on its own clock, merged by raw timestamp as trace-cmd does.
 */
import { Cursor, mergeRecords, type MergeInput, type MergePosition } from '../ringbuf/merge.js';
import { alignClocks, type ClockAlignment } from '../trace/clocks.js';
import { LossLedger, type CpuLoss, type LedgerCounts, type LossPlace } from '../trace/loss.js';
import type { EventFormat } from '../events/format.js';
import { TraceEvent } from './event.js';
import { inputStreams, type TraceInput } from './input.js';

/** The loss figures of a whole pass: per buffer and CPU, and losses no page placed (after a CPU's last page). */
export interface PassLoss {
  cpus: CpuLoss[];
  unplaced: LossPlace[];
  /** How each buffer's times stand against the first's: a loss in a buffer not comparable cannot be placed against the others. */
  clocks?: ClockAlignment[];
}

export interface StreamVisitor {
  /** Return false to stop the walk. */
  event(ev: TraceEvent): void | boolean;
  /**
   * Events were lost on cpu of buffer before ts (count -1: the kernel flagged a loss without
   * counting it). Losses from before the recording began are not reported here.
   */
  lost?(cpu: number, ts: number, count: number, buffer: string): void;
  /**
   * Events the kernel overwrote before the recording began, flagged on cpu before ts: not the
   * recording's losses, but the CPU's history before ts is gone (an analysis window that reaches
   * back there, or another CPU's earlier records, may miss events of this CPU).
   */
  lostBefore?(cpu: number, ts: number, count: number, buffer: string): void;
  /** The settled loss figures, once the walk is over (also when stopped early: then partial). */
  done?(loss: PassLoss): void;
}

/** Where a walk stands after some record: enough to resume it there (cache/checkpoints.ts). */
export interface StreamPosition {
  /** Records visited from the start of the trace. */
  events: number;
  /** The last record's time. */
  ts: number;
  streams: MergePosition[];
  ledger: LedgerCounts[];
  damaged: number;
}

export interface StreamOptions {
  /** Stop after the last record at or before this time (ns). */
  until?: number;
  /** Resume where a mark was taken: the records up to it are not visited. */
  from?: StreamPosition;
  /** Called after every `every`th record, once the visitor has seen it. */
  mark?: { every: number; take: (at: StreamPosition) => void };
  /** Told about pages that could not be decoded (they are skipped). */
  warn?: (msg: string) => void;
}

const MAX_PAGE_WARNINGS = 100;

/**
 * What to add to each stream's raw times (inputStreams order): the file's OFFSET plus its buffer's
 * shift onto the first buffer's clock (none when not comparable: raw, as trace-cmd merges).
 */
export function streamTimeOffsets(input: Pick<TraceInput, 'buffers' | 'tsOffset'>): { clocks: ClockAlignment[]; offsets: number[] } {
  const base = Number(input.tsOffset ?? 0n);
  const clocks = alignClocks(input.buffers);
  const shift = new Map(clocks.map((a) => [a.buffer, a.comparable ? a.shiftNs : 0]));
  return { clocks, offsets: inputStreams(input).map((s) => base + (shift.get(s.buffer) ?? 0)) };
}

/** What a walk over the input's streams shares: the streams, the merge's inputs, the loss ledger, the damaged-page warnings. */
function streamSetup(input: TraceInput, opts: StreamOptions) {
  const warn = opts.warn ?? ((m: string) => input.warnings?.push(m));
  const streams = inputStreams(input);
  const ledger = new LossLedger(streams.map((s) => ({ buffer: s.buffer, cpu: s.stream.cpu, counters: s.stream.counters })));
  const { clocks, offsets } = streamTimeOffsets(input);
  // Chunks read into reused memory: a record is read inside the visit (TraceEvent's contract), and
  // fresh 1 MiB buffers cost a page fault per 4 KiB (on a 150 MB trace ~0.15 s CPU of 2 s).
  const inputs: MergeInput[] = streams.map(({ stream: c }, i) => ({ chunks: { [Symbol.iterator]: () => c.chunks(true)[Symbol.iterator]() }, pageSize: c.pageSize, tsOffset: offsets[i]!, chunksFrom: c.chunksFrom && ((p: number) => c.chunksFrom!(p)) }));
  const state = { damaged: opts.from?.damaged ?? 0 };
  const onCorruptPage = (i: number, page: number, msg: string) => {
    ledger.unreadable(i);
    // Each page named up to a limit: a wholly damaged file must not grow the warnings without bound.
    if (++state.damaged <= MAX_PAGE_WARNINGS) warn(`${streams[i]!.buffer ? `buffer ${streams[i]!.buffer} ` : ''}CPU ${streams[i]!.stream.cpu}: skipped damaged page ${page} (${msg})`);
  };
  const end = () => {
    if (state.damaged > MAX_PAGE_WARNINGS) warn(`skipped ${state.damaged - MAX_PAGE_WARNINGS} more damaged pages`);
  };
  const finish = (): PassLoss => ({ ...ledger.finish(), clocks });
  return { streams, ledger, inputs, state, onCorruptPage, end, finish };
}

/** Calls the visitor for every record of every selected buffer and CPU, in time order; returns how many were visited. */
export function forEachEvent(input: TraceInput, visitor: StreamVisitor, opts: StreamOptions = {}): number {
  const until = opts.until ?? Infinity;
  const ev = new TraceEvent();
  const reg = input.registry;
  const { streams, ledger, inputs, state, onCorruptPage, end, finish } = streamSetup(input, opts);
  // Formats by id, looked up in the registry once each: ids alternate record by record (sys_enter, sys_exit).
  const fmts: (EventFormat | null | undefined)[] = [];
  let lastId = -1;
  let n = 0;
  if (opts.from) ledger.load(opts.from.ledger);
  const base = opts.from?.events ?? 0;
  const mark = opts.mark;
  mergeRecords(
    inputs,
    (i, ts, buf, off, len, missed) => {
      if (ts > until) return false;
      const s = streams[i]!;
      const cpu = s.stream.cpu;
      if (missed) {
        const [count, before] = ledger.split(i, missed);
        if (count !== 0 && visitor.lost) visitor.lost(cpu, ts, count, s.buffer);
        if (before > 0 && visitor.lostBefore) visitor.lostBefore(cpu, ts, before, s.buffer);
      }
      ledger.seen(i, ts);
      ev.ts = ts;
      ev.cpu = cpu;
      ev.buffer = s.buffer;
      ev.buf = buf;
      ev.off = off;
      ev.len = len;
      const id = len >= 2 ? buf[off]! | (buf[off + 1]! << 8) : -1;
      if (id !== lastId) {
        let f = id >= 0 ? fmts[id] : null;
        if (f === undefined) fmts[id] = f = reg.get(id) ?? null;
        ev.fmt = f ?? undefined;
        lastId = id;
      }
      ev.id = id;
      n++;
      return visitor.event(ev) !== false;
    },
    {
      from: opts.from?.streams,
      mark: mark && { every: mark.every, take: (visited, streams) => mark.take({ events: base + visited, ts: ev.ts, streams, ledger: ledger.save(), damaged: state.damaged }) },
      onCorruptPage,
    },
  );
  end();
  visitor.done?.(finish());
  return n;
}

/** What a walk over the losses alone reports: forEachEvent's loss calls, each after the time of its gap's start. */
export interface LossVisitor extends Pick<StreamVisitor, 'lost' | 'lostBefore' | 'done'> {
  /** cpu's last record before the loss reported next was at ts (-1: it has none). */
  lastBefore(cpu: number, ts: number, buffer: string): void;
}

/**
 * The losses forEachEvent would report, in its order (time, then stream), found by walking each
 * stream's pages on its own (no merge, no record visited): for analyses that must know every loss
 * before their pass.
 */
export function forEachLoss(input: TraceInput, visitor: LossVisitor): void {
  const { streams, ledger, inputs, onCorruptPage, end, finish } = streamSetup(input, {});
  const found: { ts: number; i: number; from: number; count: number; before: number }[] = [];
  inputs.forEach((inp, i) => {
    const c = new Cursor(i, inp, inp.pageSize, { onCorruptPage });
    let last = -1;
    while (c.nextPage()) {
      if (c.pageMissed) {
        const [count, before] = ledger.split(i, c.pageMissed);
        found.push({ ts: c.ts[0]!, i, from: last, count, before });
      }
      last = c.ts[c.n - 1]!;
      ledger.seen(i, last);
    }
  });
  // Stable: a stream's own losses keep their order; equal times go in stream order, as the merge's.
  found.sort((a, b) => a.ts - b.ts || a.i - b.i);
  for (const f of found) {
    const { buffer, stream } = streams[f.i]!;
    visitor.lastBefore(stream.cpu, f.from, buffer);
    if (f.count !== 0 && visitor.lost) visitor.lost(stream.cpu, f.ts, f.count, buffer);
    if (f.before > 0 && visitor.lostBefore) visitor.lostBefore(stream.cpu, f.ts, f.before, buffer);
  }
  end();
  visitor.done?.(finish());
}

/** Time of the trace's first record (0 for an empty trace): the origin of "+OFFSET" times. */
export function firstEventTs(input: TraceInput): number {
  let first = 0;
  forEachEvent(input, { event: (ev) => ((first = ev.ts), false) });
  return first;
}
