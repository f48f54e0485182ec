/**
 * The parallel text report: the trace is cut into time ranges (ranges.ts); this thread renders them
 * from the front with one merge straight to the output, workers (range-worker.ts) from the back into
 * memory, until the two meet. Then the workers' texts follow in order, once this thread has checked
 * they are the text it would have printed itself (else it prints the rest itself).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Trace } from '../../trace/model.js';
import type { CpuStream } from '../../file/cpu-stream.js';
import type { CommTable } from '../../events/printfmt/context.js';
import { Cursor, mergeCursors, type MergeInput } from '../../ringbuf/merge.js';
import type { PrintPass, RecordPrinter, ReportOptions } from './report.js';
import { Claims, atEnd, headsOf, rangeOf, sameHeads, type RangeResult } from './ranges.js';
import { newSignal, type Fault } from './thread-signal.js';

/**
 * Page data (uncompressed, all streams) from which a report takes one worker thread by itself: on
 * the 2-CPU VM of session 11 a worker cut 10-18% of the wall time from ~130 MB on (3.2 M and 6 M
 * events) and cost 5-10% at 58 MB (1.2 M events), where its own start-up is most of what it adds
 * (docs/bench.md, session 11).
 */
export const AUTO_WORKER_BYTES = 96 << 20;

/**
 * Worker threads for a text report of these streams (0: this thread only): opts.threads or
 * LKST_REPORT_THREADS when given, else one worker for a trace of AUTO_WORKER_BYTES or more on a
 * machine with a second CPU.
 */
export function parallelThreads(file: Trace, opts: ReportOptions, streams: readonly CpuStream[]): number {
  if (opts.json || !('compression' in file) || !streams.length || !streams.every((s) => s.pageTime && s.chunksFrom)) return 0;
  const asked = threadsAsked(opts);
  if (asked !== undefined) return asked;
  const bytes = streams.reduce((sum, s) => sum + s.size, 0);
  return bytes >= (opts.autoWorkerBytes ?? AUTO_WORKER_BYTES) && availableParallelism() > 1 ? 1 : 0;
}

/** The worker threads asked for (opts.threads, else LKST_REPORT_THREADS), before the file is known; undefined when neither says. */
export function threadsAsked(opts: Pick<ReportOptions, 'threads'>): number | undefined {
  const env = process.env.LKST_REPORT_THREADS;
  const asked = opts.threads ?? (env ? Number(env) : undefined);
  if (asked === undefined) return undefined;
  return Number.isInteger(asked) && asked > 0 ? asked : 0;
}

export class RangeWorkers {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly signal = newSignal();
  readonly claims = Claims.create();

  /** Started first thing: each worker opens the file while this thread does. */
  constructor(path: string, opts: ReportOptions, threads: number) {
    const { buffers, cpu, events, pid, plugins, syscallNames } = opts;
    for (let t = 0; t < threads; t++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(new URL('./range-worker.js', import.meta.url), {
        workerData: { path, opts: { buffers, cpu, events, pid, plugins, syscallNames }, port: port2, signal: this.signal, claims: this.claims.word },
        transferList: [port2],
      });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /**
   * Prints every record: this thread's ranges, then the workers' (checked and settled) as soon as
   * every range from here on is done, or the rest rendered here when they do not hold. This thread
   * never waits for a worker: a range a worker has not finished yet it renders itself.
   */
  print(bounds: number[], inputs: MergeInput[], visit: RecordPrinter, pass: PrintPass, comms: CommTable, opts: Pick<ReportOptions, 'mainRanges' | 'onRanges'> = {}): number {
    const cursors = inputs.map((inp, i) => new Cursor(i, inp, inp.pageSize, { onCorruptPage: pass.corruptPage }));
    for (const p of this.ports) p.postMessage(bounds);
    const last = bounds.length;
    this.claims.open(last + 1);
    let count = 0;
    let why = '';
    for (let r = 0; r <= last; r++) {
      // Ranges a worker took are rendered here too while any of them, or one after, is not done.
      const mine = r === 0 || (r < (opts.mainRanges ?? Infinity) && this.claims.front() === r);
      if (!mine && !why) {
        const results = opts.mainRanges !== undefined ? this.waitFor(r, last + 1) : this.done(r, last + 1);
        if (results === null) why = 'a worker failed';
        if (results) {
          why = differs(results, headsOf(cursors), pass, comms);
          if (!why) {
            // An entry held for its next record: the workers' ranges hold no function tracer record.
            visit.flush();
            opts.onRanges?.({ main: r, workers: last + 1 - r, used: true });
            return count + settle(results, pass, comms);
          }
        }
      }
      count += mergeCursors(cursors, visit, rangeOf(bounds, r)[1] - 1);
    }
    visit.flush();
    opts.onRanges?.({ main: last + 1, workers: 0, used: false, ...(why ? { why } : {}) });
    return count;
  }

  private readonly got = new Map<number, RangeResult>();

  /** Takes the messages waiting: false when a worker failed. */
  private drain(): boolean {
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const r = m.message as RangeResult | Fault;
        if ('error' in r) return false;
        this.got.set(r.input, r);
      }
    }
    return true;
  }

  /** The results of ranges [from, to) when all are done (undefined: not yet; null: a worker failed). */
  private done(from: number, to: number): RangeResult[] | undefined | null {
    if (!this.drain()) return null;
    for (let k = from; k < to; k++) if (!this.got.has(k)) return undefined;
    return Array.from({ length: to - from }, (_, k) => this.got.get(from + k)!);
  }

  /** The same, waiting for them (tests: the main thread leaves the ranges to the workers). */
  private waitFor(from: number, to: number): RangeResult[] | null {
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      const r = this.done(from, to);
      if (r !== undefined) return r;
      Atomics.wait(this.signal, 0, seen, 1000);
    }
  }

  close(): void {
    this.claims.close();
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }
}

/**
 * Why the workers' ranges would not print what this thread would ('' when they do): each stream's
 * times grew, each range starts where the one before ended (this thread's last for the first), the
 * last ends every stream, the losses show the counts this ledger gives, and no task name they
 * looked up was named before.
 */
function differs(results: readonly RangeResult[], from: number[], pass: PrintPass, comms: CommTable): string {
  const saved = pass.ledger.save();
  const named = new Set<number>();
  let at = from;
  let why = '';
  for (const res of results) {
    if (!res.grew) why = 'times went back within a range';
    else if (res.history) why = 'function tracer events are printed from the records before them';
    else if (!sameHeads(at, res.start)) why = 'a range does not start where the one before it ended';
    for (let j = 0; !why && j < res.places.length; j += 2) if (pass.ledger.place(res.places[j]!, res.places[j + 1]!) !== res.places[j + 1]) why = 'a loss count differs from this thread\'s ledger';
    for (const pid of res.asked) if (!why && (comms.has(pid) || named.has(pid))) why = `task ${pid}'s name was learned from the trace before its range`;
    for (let j = 0; j < res.named.length; j += 2) named.add(res.named[j] as number);
    if (why) break;
    at = res.end;
  }
  pass.ledger.load(saved);
  return why || (atEnd(at) ? '' : 'the ranges do not reach the end of every stream');
}

/** Takes the workers' ranges into the output and the pass's figures; returns their records. */
function settle(results: readonly RangeResult[], pass: PrintPass, comms: CommTable): number {
  let count = 0;
  for (const res of results) {
    for (let j = 0; j < res.places.length; j += 2) pass.ledger.place(res.places[j]!, res.places[j + 1]!);
    res.lastTs.forEach((ts, input) => Number.isNaN(ts) || pass.ledger.seen(input, ts));
    for (let j = 0; j < res.corrupt.length; j += 3) pass.corruptPage(res.corrupt[j] as number, res.corrupt[j + 1] as number, res.corrupt[j + 2] as string);
    for (let j = 0; j < res.named.length; j += 2) comms.register(res.named[j] as number, res.named[j + 1] as string);
    pass.summary.printed += res.printed;
    count += res.records;
    pass.w.chunk(Buffer.from(res.text, 0, res.length));
  }
  return count;
}
