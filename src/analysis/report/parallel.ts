/**
 * The parallel text report: worker threads (render-worker.ts) render the events of the CPU streams
 * into batches; this thread merges the batches by time exactly as mergeRecords merges records
 * (smallest time first, the lower input on ties), writes each line's head, places losses and
 * registers task names at the record that named them, so the text is the single-thread text.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Trace } from '../../trace/model.js';
import type { CpuStream } from '../../file/cpu-stream.js';
import type { LineWriter, PrintPass, ReportOptions } from './report.js';
import type { TextWriter } from '../../events/printfmt/writer.js';
import type { CommTable } from '../../events/printfmt/context.js';
import { newSignal, receiveAny, type Fault } from './thread-signal.js';

export type { Fault };

/** Kinds of batch entries besides an event id: no format, left out by a filter, an undecodable page. */
export const UNKNOWN = -1;
export const FILTERED = -2;
export const CORRUPT = -3;
export const BATCH_RECORDS = 16384;
export const BATCH_BODY = 1 << 20;
const AHEAD = 2;
const COPY_PIECE = 256 << 10;
const FIX = 'run again with LKST_REPORT_THREADS=0 (one thread)';

/** The memory of a batch, handed back to be filled again. */
export interface BatchMemory {
  ts: ArrayBuffer;
  missed: ArrayBuffer;
  meta: ArrayBuffer;
  body: ArrayBuffer;
}

/** A run of one input's records, rendered. */
export interface Batch {
  input: number;
  n: number;
  /** No more records after these. */
  done: boolean;
  ts: ArrayBuffer;
  missed: ArrayBuffer;
  /** Per record: kind, pid (a CORRUPT mark's page index), end of its line's task column and of its line in body. */
  meta: ArrayBuffer;
  body: ArrayBuffer;
  /** Task names the records registered: record index, pid, comm, ... */
  comms: (number | string)[];
  /** The messages of CORRUPT marks, in order. */
  faults: string[];
}

/**
 * Worker threads for a report of these streams (0: render on this thread). Only when asked
 * (opts.threads or LKST_REPORT_THREADS): measured on the 2-CPU VM (docs/bench.md), the workers
 * took about twice the CPU time of one thread for the same text, so they lost by wall clock there.
 */
export function parallelThreads(file: Trace, opts: ReportOptions, streams: readonly CpuStream[]): number {
  if (opts.json || !('compression' in file) || !streams.length) return 0;
  const asked = opts.threads ?? (process.env.LKST_REPORT_THREADS ? Number(process.env.LKST_REPORT_THREADS) : 0);
  return Number.isInteger(asked) && asked > 0 ? Math.min(asked, streams.length) : 0;
}

/** One input's batch being read. */
class Head {
  ts = new Float64Array(0);
  missed = new Float64Array(0);
  meta = new Int32Array(0);
  body: Buffer = Buffer.alloc(0);
  comms: (number | string)[] = [];
  faults: string[] = [];
  n = 0;
  i = 0;
  /** Next registered name and CORRUPT message to apply. */
  c = 0;
  f = 0;
  done = false;

  batch?: Batch;

  load(b: Batch): void {
    this.batch = b;
    this.ts = new Float64Array(b.ts, 0, b.n);
    this.missed = new Float64Array(b.missed, 0, b.n);
    this.meta = new Int32Array(b.meta, 0, 4 * b.n);
    this.body = Buffer.from(b.body);
    this.comms = b.comms;
    this.faults = b.faults;
    this.n = b.n;
    this.i = 0;
    this.c = 0;
    this.f = 0;
    this.done = b.done;
  }
}

export class ParallelInputs {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly signal = newSignal();
  private readonly queues: Batch[][];
  private readonly heads: Head[];

  constructor(path: string, opts: ReportOptions, private readonly count: number, threads: number) {
    this.queues = Array.from({ length: count }, () => []);
    this.heads = Array.from({ length: count }, () => new Head());
    const { buffers, cpu, events, pid, plugins, syscallNames } = opts;
    for (let t = 0; t < threads; t++) {
      const { port1, port2 } = new MessageChannel();
      const inputs = Array.from({ length: count }, (_, k) => k).filter((k) => k % threads === t);
      const worker = new Worker(new URL('./render-worker.js', import.meta.url), {
        workerData: { path, opts: { buffers, cpu, events, pid, plugins, syscallNames }, inputs, port: port2, signal: this.signal },
        transferList: [port2],
      });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
    for (let k = 0; k < count; k++) for (let a = 0; a < AHEAD; a++) this.ask(k);
  }

  /** Asks for the input's next batch, handing back a spent one's memory for it. */
  private ask(input: number, spent?: Batch): void {
    const port = this.ports[input % this.workers.length]!;
    if (!spent) {
      port.postMessage({ input });
      return;
    }
    const { ts, missed, meta, body } = spent;
    port.postMessage({ input, reuse: { ts, missed, meta, body } }, [ts, missed, meta, body]);
  }

  /** Loads the input's next batch; false when it has none. */
  private next(input: number): boolean {
    const h = this.heads[input]!;
    if (h.done) return false;
    const q = this.queues[input]!;
    while (!q.length) {
      const b = receiveAny<Batch>(this.ports, this.signal, 'rendering the trace', FIX);
      this.queues[b.input]!.push(b);
    }
    const b = q.shift()!;
    if (!b.done) this.ask(input, h.batch);
    h.load(b);
    return true;
  }

  /**
   * Moves the input to its next record, handling the CORRUPT marks on the way (where the merge
   * would have met them: when the page before is done); false at its end.
   */
  private settle(input: number, pass: PrintPass): boolean {
    const h = this.heads[input]!;
    for (;;) {
      if (h.i >= h.n) {
        if (!this.next(input)) return false;
        continue;
      }
      if (h.meta[4 * h.i] !== CORRUPT) return true;
      pass.corruptPage(input, h.meta[4 * h.i + 1]!, h.faults[h.f++]!);
      h.i++;
    }
  }

  /** Copies body[start, end) of a batch to the output. */
  private copy(w: TextWriter, body: Buffer, start: number, end: number): void {
    while (start < end) {
      const n = Math.min(end - start, COPY_PIECE);
      w.need(n);
      body.copy(w.buf, w.pos, start, start + n);
      w.pos += n;
      w.total += n;
      start += n;
    }
  }

  /**
   * Prints every record in time order; returns how many records there were. The workers' lines are
   * copied in runs; a line is redone from its task column when events were lost before it or when
   * its worker knew its task by another name than the merged order does at that point.
   */
  print(lines: LineWriter, pass: PrintPass): number {
    const { ledger, summary } = pass;
    const w = lines.w;
    const names = new TaskNames(lines.ctx.comms, this.count);
    const live: number[] = [];
    for (let k = 0; k < this.count; k++) if (this.settle(k, pass)) live.push(k);
    let count = 0;
    while (live.length) {
      // The input with the smallest head time (the lower input on ties), and the runner-up's time.
      let best = 0;
      for (let j = 1; j < live.length; j++) {
        const a = this.heads[live[j]!]!;
        const b = this.heads[live[best]!]!;
        const ta = a.ts[a.i]!;
        const tb = b.ts[b.i]!;
        if (ta < tb || (ta === tb && live[j]! < live[best]!)) best = j;
      }
      const input = live[best]!;
      let limit = Infinity;
      let limitIndex = Infinity;
      for (let j = 0; j < live.length; j++) {
        if (j === best) continue;
        const o = this.heads[live[j]!]!;
        const t = o.ts[o.i]!;
        if (t < limit || (t === limit && live[j]! < limitIndex)) {
          limit = t;
          limitIndex = live[j]!;
        }
      }
      const beatsOnTie = input < limitIndex;
      const h = this.heads[input]!;
      const differs = names.differs[input]!;
      // The run of lines to copy as they are: body[run, line start).
      let run = h.i > 0 ? h.meta[4 * h.i - 1]! : 0;
      let last = NaN;
      for (;;) {
        const i = h.i;
        const ts = h.ts[i]!;
        if (ts > limit || (ts === limit && !beatsOnTie)) break;
        h.i = i + 1;
        last = ts;
        count++;
        const meta = h.meta;
        const kind = meta[4 * i]!;
        let missed = h.missed[i]!;
        if (kind !== FILTERED) {
          summary.printed++;
          if (missed) missed = ledger.place(input, missed);
          const pid = meta[4 * i + 1]!;
          if (missed || (kind >= 0 && differs.size && differs.has(pid))) {
            const start = i > 0 ? meta[4 * i - 1]! : 0;
            this.copy(w, h.body, run, start);
            run = meta[4 * i + 3]!;
            if (missed) lines.lost(input, missed);
            if (kind === UNKNOWN) lines.unknown(input, missed);
            else {
              lines.task(input, pid, missed);
              this.copy(w, h.body, meta[4 * i + 2]!, run);
            }
          }
          // Names this record's text registered count from the next line on.
          const cs = h.comms;
          while (h.c < cs.length && cs[h.c] === i) {
            names.register(input, cs[h.c + 1] as number, cs[h.c + 2] as string);
            h.c += 3;
          }
        } else if (missed) ledger.place(input, missed);
        if (h.i >= h.n || meta[4 * h.i] === CORRUPT) {
          this.copy(w, h.body, run, meta[4 * i + 3]!);
          ledger.seen(input, last);
          if (!this.settle(input, pass)) {
            live.splice(best, 1);
            break;
          }
          run = h.i > 0 ? h.meta[4 * h.i - 1]! : 0;
        }
      }
      if (h.i < h.n || !h.done) {
        this.copy(w, h.body, run, h.i > 0 ? h.meta[4 * h.i - 1]! : 0);
        if (!Number.isNaN(last)) ledger.seen(input, last);
      }
    }
    return count;
  }

  close(): void {
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }
}

/**
 * The task names of the merged order and, per input, the names its worker knew (the saved ones and
 * those its own records registered): differs[k] holds the pids whose names the two tell apart.
 */
class TaskNames {
  readonly differs: Set<number>[];
  private readonly local: Map<number, string>[];
  private readonly merged = new Map<number, string>();

  constructor(private readonly comms: CommTable, inputs: number) {
    this.differs = Array.from({ length: inputs }, () => new Set());
    this.local = Array.from({ length: inputs }, () => new Map());
  }

  register(input: number, pid: number, comm: string): void {
    // Workers register only pids the saved names lack, so these maps hold the rest.
    this.local[input]!.set(pid, comm);
    if (!this.merged.has(pid)) this.merged.set(pid, comm);
    this.comms.register(pid, comm);
    const name = this.merged.get(pid);
    this.local.forEach((l, k) => (l.get(pid) === name ? this.differs[k]!.delete(pid) : this.differs[k]!.add(pid)));
  }
}
