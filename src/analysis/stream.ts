/**
 * Walks a trace's records in time order across CPUs (the ring-buffer k-way merge), one page per
 * CPU decoded at a time, so a trace of any size streams through in bounded memory.
 */
import { mergeRecords } from '../ringbuf/merge.js';
import { TraceEvent } from './event.js';
import type { TraceInput } from './input.js';

export interface StreamVisitor {
  /** Return false to stop the walk. */
  event(ev: TraceEvent): void | boolean;
  /** Events were lost on cpu before ts (count -1: the kernel flagged a loss without counting it). */
  lost?(cpu: number, ts: number, count: number): void;
}

export interface StreamOptions {
  /** Stop after the last record at or before this time (ns). */
  until?: number;
  /** Told about pages that could not be decoded (they are skipped). */
  warn?: (msg: string) => void;
}

/** Calls the visitor for every record of every CPU, in time order; returns how many were visited. */
export function forEachEvent(input: TraceInput, visitor: StreamVisitor, opts: StreamOptions = {}): number {
  const warn = opts.warn ?? ((m: string) => input.warnings?.push(m));
  const until = opts.until ?? Infinity;
  const ev = new TraceEvent();
  const reg = input.registry;
  const cpus = input.cpus;
  let lastId = -1;
  let n = 0;
  mergeRecords(
    cpus.map((c) => ({ chunks: { [Symbol.iterator]: () => c.chunks()[Symbol.iterator]() }, pageSize: c.pageSize })),
    (i, ts, buf, off, len, missed) => {
      if (ts > until) return false;
      const cpu = cpus[i]!.cpu;
      if (missed && visitor.lost) visitor.lost(cpu, ts, missed);
      ev.ts = ts;
      ev.cpu = cpu;
      ev.buf = buf;
      ev.off = off;
      ev.len = len;
      const id = len >= 2 ? buf.readUInt16LE(off) : -1;
      if (id !== lastId) {
        ev.fmt = reg.get(id);
        lastId = id;
      }
      ev.id = id;
      n++;
      return visitor.event(ev) !== false;
    },
    { onCorruptPage: (i, page, msg) => warn(`CPU ${cpus[i]!.cpu}: skipped damaged page ${page} (${msg})`) },
  );
  return n;
}

/** Time of the trace's first record (0 for an empty trace): the origin of "+OFFSET" times. */
export function firstEventTs(input: TraceInput): number {
  let first = 0;
  forEachEvent(input, { event: (ev) => ((first = ev.ts), false) });
  return first;
}
