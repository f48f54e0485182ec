/**
 * Worker side of the parallel report: opens the same trace.dat, reads the CPU streams it was given
 * and renders each record's own text (the part after "<comm>-<pid> [cpu] <time>: <name>: ") into
 * batches the main thread merges by time. The main thread writes the line heads, places losses and
 * keeps the task names: those depend on the order of all CPUs; the event text does not.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { openTraceDat } from '../../file/reader.js';
import { Cursor } from '../../ringbuf/merge.js';
import { i32le, u16le } from '../../events/printfmt/num.js';
import { TextWriter } from '../../events/printfmt/writer.js';
import type { RenderContext } from '../../events/printfmt/context.js';
import { eventSelection } from './event-filter.js';
import { eventViews, lineWriter, renderContextOf, reportStreams, writeBody, type LineWriter, type ReportOptions } from './report.js';
import { BATCH_BODY, BATCH_RECORDS, CORRUPT, FILTERED, UNKNOWN, type Batch, type BatchMemory, type Fault } from './parallel.js';
import { faultOf, notify } from './thread-signal.js';

interface Data {
  path: string;
  opts: Pick<ReportOptions, 'buffers' | 'cpu' | 'events' | 'pid' | 'plugins' | 'syscallNames'>;
  /** The inputs (indexes into the report's streams) this worker renders. */
  inputs: number[];
  port: MessagePort;
  signal: Int32Array;
}

const { path, opts, inputs, port, signal } = workerData as Data;

function post(msg: Batch | Fault, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  notify(signal);
}

process.on('uncaughtException', (err) => post({ input: -1, error: faultOf(err) }));

const RECORDS = BATCH_RECORDS + 16;
const BODY = BATCH_BODY + (64 << 10);
/** Memory of spent batches the main thread handed back. */
const spare: BatchMemory[] = [];

/** One batch being filled: grows past its nominal size only for corrupt-page marks. */
class Builder {
  n = 0;
  ts: Float64Array;
  missed: Float64Array;
  /** Per record: kind (event id, UNKNOWN, FILTERED, CORRUPT), pid (page index of a CORRUPT mark), end of its head, end of its line. */
  meta: Int32Array;
  readonly comms: (number | string)[] = [];
  readonly faults: string[] = [];

  constructor(private readonly w: TextWriter) {
    const m = spare.pop();
    this.ts = m ? new Float64Array(m.ts) : new Float64Array(RECORDS);
    this.missed = m ? new Float64Array(m.missed) : new Float64Array(RECORDS);
    this.meta = m ? new Int32Array(m.meta) : new Int32Array(4 * RECORDS);
    // The writer's last buffer went out with the last batch.
    w.buf = m ? Buffer.from(m.body) : Buffer.allocUnsafeSlow(BODY);
    w.pos = 0;
    w.total = 0;
  }

  add(ts: number, missed: number, kind: number, pid: number, headEnd: number): void {
    if (this.n === this.ts.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, n: number): T => {
        const b = new (a.constructor as new (n: number) => T)(n);
        b.set(a);
        return b;
      };
      this.ts = grow(this.ts, this.n * 2);
      this.missed = grow(this.missed, this.n * 2);
      this.meta = grow(this.meta, this.n * 8);
    }
    const i = this.n++;
    this.ts[i] = ts;
    this.missed[i] = missed;
    this.meta[4 * i] = kind;
    this.meta[4 * i + 1] = pid;
    this.meta[4 * i + 2] = headEnd;
    this.meta[4 * i + 3] = this.w.pos;
  }

  full(): boolean {
    return this.n >= BATCH_RECORDS || this.w.pos >= BATCH_BODY;
  }

  send(input: number, done: boolean): void {
    const buf = this.w.buf;
    // A buffer the writer grew may share its memory: then the text goes out as a copy.
    const body = (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? buf.buffer : buf.buffer.slice(buf.byteOffset, buf.byteOffset + this.w.pos)) as ArrayBuffer;
    const ts = this.ts.buffer as ArrayBuffer;
    const missed = this.missed.buffer as ArrayBuffer;
    const meta = this.meta.buffer as ArrayBuffer;
    post({ input, n: this.n, done, ts, missed, meta, body, comms: this.comms, faults: this.faults }, [ts, missed, meta, body]);
  }
}

/** One input: its pages, and its own table of task names (as the line heads of its records saw them). */
interface Stream {
  cursor: Cursor;
  lines: LineWriter;
  ctx: RenderContext;
}

let current: Builder | undefined;

function start(): void {
  const file = openTraceDat(path);
  const { streams, infos } = reportStreams(file, opts);
  const wanted = opts.events?.length ? eventSelection(opts.events, file.registry) : undefined;
  const pidFilter = opts.pid;
  const viewOf = eventViews(file.registry, opts);
  const tsOffset = Number(file.tsOffset);
  let recordAt = 0;
  const mine = new Map<number, Stream>();
  for (const k of inputs) {
    // Names the sched plugins register are logged with the record that registered them: the main
    // thread registers them at that point of the merged order (first name wins there, as here).
    const ctx = renderContextOf(file);
    const comms = ctx.comms;
    const register = comms.register.bind(comms);
    comms.register = (pid, comm) => {
      if (comms.has(pid)) return;
      register(pid, comm);
      current!.comms.push(recordAt, pid, comm);
    };
    const cs = streams[k]!;
    const cursor = new Cursor(k, { chunks: { [Symbol.iterator]: () => cs.chunks(true)[Symbol.iterator]() }, pageSize: cs.pageSize, tsOffset }, cs.pageSize, {
      onCorruptPage: (_input, page, message) => {
        current!.faults.push(message);
        current!.add(0, 0, CORRUPT, page, 0);
      },
    });
    mine.set(k, { cursor, ctx, lines: lineWriter(file.registry, ctx, infos, new TextWriter(0)) });
  }

  port.on('message', ({ input, reuse }: { input: number; reuse?: BatchMemory }) => {
    if (reuse) spare.push(reuse);
    try {
      const { cursor: c, lines, ctx } = mine.get(input)!;
      const w = lines.w;
      const bt = (current = new Builder(w));
      let done = false;
      while (!bt.full()) {
        if (c.i >= c.n && !c.nextPage()) {
          done = true;
          break;
        }
        const i = c.i++;
        const b = c.buf;
        const off = c.off[i]!;
        const len = c.len[i]!;
        const ts = c.ts[i]!;
        const missed = i === 0 ? c.pageMissed : 0;
        const id = u16le(b, off);
        if (wanted) {
          const f = wanted.get(id);
          if (f === undefined || (f !== null && !f(b, off, len))) {
            bt.add(ts, missed, FILTERED, 0, w.pos);
            continue;
          }
        }
        const view = viewOf(id);
        const pid = i32le(b, off + (view ? view.pidOff : 4));
        if (pidFilter !== undefined && pid !== pidFilter) bt.add(ts, missed, FILTERED, pid, w.pos);
        else if (!view) {
          lines.unknown(input, 0);
          bt.add(ts, missed, UNKNOWN, pid, w.pos);
        } else {
          // The line as if no events were lost before it: the main thread redoes the head when they were.
          recordAt = bt.n;
          lines.task(input, pid, 0);
          const headEnd = w.pos;
          lines.clock(input, ts, view.nameCol);
          writeBody(view, b, off, len, ctx, w);
          w.ch(10);
          bt.add(ts, missed, id, pid, headEnd);
        }
      }
      bt.send(input, done);
    } catch (err) {
      post({ input, error: faultOf(err) });
    }
  });
}

try {
  start();
} catch (err) {
  const fault = faultOf(err);
  port.on('message', ({ input }: { input: number }) => post({ input, error: fault }));
}
