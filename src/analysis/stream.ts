/**
 * Walks a trace's records in time order across CPUs, one chunk of pages per CPU in memory at a
 * time, so a trace of any size streams through in bounded memory.
 */
import { CorruptPageError, forEachRecord } from '../ringbuf/page.js';
import { TraceEvent } from './event.js';
import type { InputCpu, TraceInput } from './input.js';

export interface StreamVisitor {
  event(ev: TraceEvent): void;
  /** Events were lost on cpu before ts (count -1: the kernel flagged a loss without counting it). */
  lost?(cpu: number, ts: number, count: number): void;
}

export interface StreamOptions {
  /** Stop after the last record at or before this time (ns). */
  until?: number;
  /** Told about pages that could not be decoded (they are skipped). */
  warn?: (msg: string) => void;
}

/** One CPU's records decoded a chunk at a time into flat arrays. */
class CpuCursor {
  private readonly it: Iterator<Buffer>;
  buf: Buffer = Buffer.alloc(0);
  ts = new Float64Array(1024);
  off = new Int32Array(1024);
  len = new Int32Array(1024);
  /** Index of the first record of a page that reported lost events, with the count. */
  lostAt: [number, number, number][] = [];
  n = 0;
  i = 0;
  done = false;

  constructor(readonly cpu: InputCpu, private readonly warn: (m: string) => void) {
    this.it = cpu.chunks()[Symbol.iterator]();
    this.fill();
  }

  private push(ts: number, off: number, len: number): void {
    if (this.n === this.ts.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.ts = grow(this.ts, (n) => new Float64Array(n));
      this.off = grow(this.off, (n) => new Int32Array(n));
      this.len = grow(this.len, (n) => new Int32Array(n));
    }
    this.ts[this.n] = ts;
    this.off[this.n] = off;
    this.len[this.n] = len;
    this.n++;
  }

  /** Decodes the next non-empty chunk; sets done at the end. */
  fill(): void {
    this.n = 0;
    this.i = 0;
    this.lostAt = [];
    const ps = this.cpu.pageSize;
    for (;;) {
      const r = this.it.next();
      if (r.done) {
        this.done = true;
        return;
      }
      this.buf = r.value;
      for (let p = 0; p + ps <= this.buf.length; p += ps) {
        const first = this.n;
        try {
          const head = forEachRecord(this.buf, p, ps, (ts, off, len) => this.push(ts, off, len));
          if (head.missedEvents) this.lostAt.push([first, Number(head.timestamp), head.missedCount]);
        } catch (err) {
          if (!(err instanceof CorruptPageError)) throw err;
          this.warn(`CPU ${this.cpu.cpu}: skipped a damaged page (${err.message})`);
        }
      }
      if (this.n > 0 || this.lostAt.length) return;
    }
  }
}

/** Calls the visitor for every record of every CPU, in time order (ties: lower CPU first). */
export function forEachEvent(input: TraceInput, visitor: StreamVisitor, opts: StreamOptions = {}): void {
  const warn = opts.warn ?? ((m: string) => input.warnings?.push(m));
  const until = opts.until ?? Infinity;
  const ev = new TraceEvent();
  const reg = input.registry;
  let cursors = input.cpus.map((c) => new CpuCursor(c, warn)).filter((c) => !c.done);
  let lastId = -1;
  for (;;) {
    // Few CPUs: a linear scan for the earliest head beats a heap.
    let best: CpuCursor | undefined;
    let bestTs = Infinity;
    for (const c of cursors) {
      if (c.i < c.n && c.ts[c.i]! < bestTs) {
        best = c;
        bestTs = c.ts[c.i]!;
      }
    }
    if (!best) break;
    if (bestTs > until) return;
    const c = best;
    const i = c.i;
    if (visitor.lost && c.lostAt.length && c.lostAt[0]![0] === i) {
      const [, ts, count] = c.lostAt.shift()!;
      visitor.lost(c.cpu.cpu, Math.min(ts, bestTs), count);
    }
    ev.ts = bestTs;
    ev.cpu = c.cpu.cpu;
    ev.buf = c.buf;
    ev.off = c.off[i]!;
    ev.len = c.len[i]!;
    const id = ev.len >= 2 ? c.buf.readUInt16LE(ev.off) : -1;
    if (id !== lastId) {
      ev.fmt = reg.get(id);
      lastId = id;
    }
    ev.id = id;
    c.i++;
    visitor.event(ev);
    if (c.i >= c.n) {
      c.fill();
      lastId = -1;
      if (c.done && c.n === 0) cursors = cursors.filter((x) => x !== c);
    }
  }
}
