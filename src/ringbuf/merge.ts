/**
 * K-way merge of per-CPU ring-buffer page streams into one stream of records ordered by time.
 * Stable: equal times come out in input order (as trace-cmd takes the first CPU with the
 * smallest time). Records are handed out as (buffer, offset, length) views, never copied.
 */
import { CorruptPageError, forEachRecord, readPageHeader } from './page.js';

export interface MergeInput {
  /** The stream's pages in order, in chunks of whole pages. */
  chunks: Iterable<Buffer>;
  pageSize: number;
  /** Added to every time of this stream (a file's time offset). */
  tsOffset?: number;
  /** The chunks from a page on, read without the pages before it (else a resumed merge skips them undecoded). */
  chunksFrom?: (page: number) => Iterable<Buffer>;
}

/**
 * Called per record in time order. missed: events lost just before this record (the first of a
 * page that flags a loss): the count, -1 when the kernel flagged a loss without counting it, else 0.
 * Return false to stop.
 */
export type MergeVisitor = (input: number, ts: number, buf: Buffer, off: number, len: number, missed: number) => boolean | void;

export interface MergeOptions {
  /** A page that cannot be decoded (wholly, or from a damaged record on) is skipped and reported here. */
  onCorruptPage?: (input: number, pageIndex: number, message: string) => void;
  /** Where each input resumes (positions a mark gave): the records before them are not visited again. */
  from?: readonly MergePosition[];
  /** Called after every `every`th record visited, with where each input stands (to resume there later). */
  mark?: { every: number; take: (visited: number, at: MergePosition[]) => void };
}

/**
 * Where one input stands: the page it has loaded (or, with none loaded, the next page to read),
 * the next record's index in it, and the loss to report with the page's first record.
 */
export interface MergePosition {
  page: number;
  record: number;
  missed: number;
  loaded: boolean;
}

/** One input's records, decoded a page at a time into reused arrays (nextPage() loads the next). */
export class Cursor {
  ts: Float64Array;
  off: Int32Array;
  len: Int32Array;
  n = 0;
  i = 0;
  buf: Buffer = Buffer.alloc(0);
  /** Loss to report with the current page's first record. */
  pageMissed = 0;
  private pendingMissed = 0;
  private chunk: Buffer | undefined;
  private pageOff = 0;
  private pageIndex = 0;
  private it: Iterator<Buffer>;
  private readonly tsOffset: number;
  private readonly chunksFrom: MergeInput['chunksFrom'];
  private readonly add: (ts: number, off: number, len: number) => void;

  constructor(
    readonly index: number,
    input: MergeInput,
    private readonly pageSize: number,
    private readonly opts: MergeOptions,
  ) {
    const cap = Math.max(16, pageSize >> 2);
    this.ts = new Float64Array(cap);
    this.off = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.it = input.chunks[Symbol.iterator]();
    this.chunksFrom = input.chunksFrom;
    this.tsOffset = input.tsOffset ?? 0;
    this.add = (ts, off, len) => {
      if (this.n === this.ts.length) this.grow();
      this.ts[this.n] = ts + this.tsOffset;
      this.off[this.n] = off;
      this.len[this.n] = len;
      this.n++;
    };
  }

  private grow(): void {
    const ts = new Float64Array(this.ts.length * 2);
    ts.set(this.ts);
    const off = new Int32Array(ts.length);
    off.set(this.off);
    const len = new Int32Array(ts.length);
    len.set(this.len);
    this.ts = ts;
    this.off = off;
    this.len = len;
  }

  position(): MergePosition {
    return this.n > 0 ? { page: this.pageIndex - 1, record: this.i, missed: this.pageMissed, loaded: true } : { page: this.pageIndex, record: 0, missed: 0, loaded: false };
  }

  /** Goes to a position a mark gave: whole chunks before it are skipped undecoded, and its page is not reported again. */
  seek(pos: MergePosition): void {
    let skipped = 0;
    if (this.chunksFrom) {
      this.it = this.chunksFrom(pos.page)[Symbol.iterator]();
      skipped = pos.page;
    }
    for (;;) {
      const r = this.it.next();
      if (r.done) {
        this.chunk = undefined;
        break;
      }
      const pages = Math.floor(r.value.length / this.pageSize);
      if (skipped + pages > pos.page) {
        this.chunk = r.value;
        this.pageOff = (pos.page - skipped) * this.pageSize;
        break;
      }
      skipped += pages;
    }
    this.pageIndex = pos.page;
    this.n = 0;
    this.i = 0;
    if (!pos.loaded) return;
    this.quiet = true;
    try {
      if (!this.nextPage()) return;
    } finally {
      this.quiet = false;
    }
    this.i = pos.record;
    this.pageMissed = pos.missed;
  }

  /** While seeking: a damaged page was reported when first met. */
  private quiet = false;

  /** Loads the next page that has records; false at the end of the stream. */
  nextPage(): boolean {
    for (;;) {
      if (!this.chunk || this.pageOff + this.pageSize > this.chunk.length) {
        const r = this.it.next();
        if (r.done) return false;
        this.chunk = r.value;
        this.pageOff = 0;
        continue;
      }
      const at = this.pageOff;
      this.pageOff += this.pageSize;
      const pageIndex = this.pageIndex++;
      this.n = 0;
      this.i = 0;
      let missed = 0;
      try {
        const head = readPageHeader(this.chunk, at);
        if (head.missedEvents) missed = head.missedCount >= 0 ? head.missedCount : -1;
        forEachRecord(this.chunk, at, this.pageSize, this.add);
      } catch (err) {
        if (!(err instanceof CorruptPageError) && !(err instanceof RangeError)) throw err;
        // The records before the damage are kept (as trace-cmd does); the rest of the page is skipped.
        if (!this.quiet) this.opts.onCorruptPage?.(this.index, pageIndex, err.message);
      }
      if (missed) this.pendingMissed = this.pendingMissed > 0 && missed > 0 ? this.pendingMissed + missed : missed;
      if (this.n > 0) {
        this.buf = this.chunk;
        this.pageMissed = this.pendingMissed;
        this.pendingMissed = 0;
        return true;
      }
    }
  }
}

/** Visits every record of all inputs in time order; returns the number of records visited. */
export function mergeRecords(inputs: readonly MergeInput[], visit: MergeVisitor, opts: MergeOptions = {}): number {
  const cursors = inputs.map((inp, i) => new Cursor(i, inp, inp.pageSize, opts));
  if (opts.from) cursors.forEach((c, i) => c.seek(opts.from![i]!));
  return mergeCursors(cursors, visit, Infinity, opts.mark);
}

/**
 * Visits the cursors' records in time order up to `until` (inclusive); a cursor whose stream has
 * nothing more now drops out of this pass. Returns how many were visited (the visitor returning
 * false stops it).
 */
export function mergeCursors(cursors: readonly Cursor[], visit: MergeVisitor, until: number, mark?: MergeOptions['mark']): number {
  const every = mark ? mark.every : Infinity;
  let nextMark = every;
  const live = cursors.filter((c) => c.i < c.n || c.nextPage());
  let count = 0;
  while (live.length) {
    // The input with the smallest head time (first in input order on ties), and the runner-up's time.
    let best = 0;
    for (let k = 1; k < live.length; k++) {
      const a = live[k]!;
      const b = live[best]!;
      const ta = a.ts[a.i]!;
      const tb = b.ts[b.i]!;
      if (ta < tb || (ta === tb && a.index < b.index)) best = k;
    }
    const cur = live[best]!;
    if (cur.ts[cur.i]! > until) return count;
    let limit = Infinity;
    let limitIndex = Infinity;
    for (let k = 0; k < live.length; k++) {
      if (k === best) continue;
      const o = live[k]!;
      const t = o.ts[o.i]!;
      if (t < limit || (t === limit && o.index < limitIndex)) {
        limit = t;
        limitIndex = o.index;
      }
    }
    // Emit this input's records while they stay ahead of every other input's head.
    const beatsOnTie = cur.index < limitIndex;
    for (;;) {
      const i = cur.i;
      const t = cur.ts[i]!;
      if (t > limit || (t === limit && !beatsOnTie) || t > until) break;
      const missed = i === 0 ? cur.pageMissed : 0;
      count++;
      cur.i = i + 1;
      if (visit(cur.index, t, cur.buf, cur.off[i]!, cur.len[i]!, missed) === false) return count;
      if (count === nextMark) {
        nextMark += every;
        mark!.take(count, cursors.map((c) => c.position()));
      }
      if (cur.i >= cur.n) {
        if (!cur.nextPage()) {
          live.splice(best, 1);
          break;
        }
      }
    }
  }
  return count;
}

/**
 * The merge of a recording in progress: pages are pushed per input as they are read, and records
 * come out in time order up to a time the caller knows every input has delivered (see emit).
 */
export class LiveMerge {
  private readonly queues: Buffer[][];
  private readonly cursors: Cursor[];
  /** The latest time among the records pushed so far (-Infinity before any). */
  latest = -Infinity;
  /** Records visited with a time before one visited earlier (they came after their turn). */
  late = 0;
  private last = -Infinity;

  constructor(inputs: number, private readonly pageSize: number, private readonly visit: MergeVisitor, opts: MergeOptions = {}) {
    this.queues = Array.from({ length: inputs }, () => []);
    // A queue's iterator says "done" while it is empty and goes on once more pages are pushed.
    this.cursors = this.queues.map((q, i) => {
      const it: Iterator<Buffer> = { next: () => (q.length ? { value: q.shift()!, done: false } : { value: undefined, done: true }) };
      return new Cursor(i, { chunks: { [Symbol.iterator]: () => it }, pageSize }, pageSize, opts);
    });
  }

  /** Whole pages of one input, in order (kept until their records are visited). */
  push(input: number, chunk: Buffer): void {
    this.queues[input]!.push(chunk);
    const ts = this.lastTime(chunk);
    if (ts > this.latest) this.latest = ts;
  }

  /** Visits, in time order, every pushed record at or before `until`; returns how many. */
  emit(until: number): number {
    return mergeCursors(
      this.cursors,
      (input, ts, buf, off, len, missed) => {
        if (ts < this.last) this.late++;
        else this.last = ts;
        return this.visit(input, ts, buf, off, len, missed);
      },
      until,
    );
  }

  /** The time of the chunk's last record (-Infinity when it has none). */
  private lastTime(chunk: Buffer): number {
    for (let at = chunk.length - this.pageSize; at >= 0; at -= this.pageSize) {
      let last = -Infinity;
      try {
        forEachRecord(chunk, at, this.pageSize, (ts) => (last = ts));
      } catch (err) {
        if (!(err instanceof CorruptPageError) && !(err instanceof RangeError)) throw err;
        continue; // reported when the merge reaches it
      }
      if (last !== -Infinity) return last;
    }
    return -Infinity;
  }
}
