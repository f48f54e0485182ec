/**
 * The work of a parallel report's worker (range-worker.ts starts it): opens the same trace.dat and
 * renders whole time ranges (ranges.ts), taken from the back while the main thread takes them from
 * the front, each into its own text with a log of what the main thread must check and settle
 * (losses, names, damage).
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { openTraceDat } from '../../file/reader.js';
import { mergeCursors } from '../../ringbuf/merge.js';
import { TextWriter } from '../../events/printfmt/writer.js';
import { eventViews, recordPrinter, renderContextOf, reportStreams, type ReportOptions } from './report.js';
import { Claims, TrackedComms, cursorsAt, headsOf, rangeOf, type RangeResult } from './ranges.js';
import { faultOf, notify, type Fault } from './thread-signal.js';

interface Data {
  path: string;
  opts: Pick<ReportOptions, 'buffers' | 'cpu' | 'events' | 'pid' | 'plugins' | 'syscallNames'>;
  port: MessagePort;
  signal: Int32Array;
  claims: Int32Array;
}

const { path, opts, port, signal, claims: word } = workerData as Data;

function post(msg: RangeResult | Fault, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  notify(signal);
}

const TEXT_BYTES = 8 << 20;
/** The workers' text waits in memory until the main thread reaches it: past this, the main thread renders the rest. */
const HELD_BYTES = 384 << 20;

async function run(): Promise<void> {
  const file = openTraceDat(path);
  const { streams, infos } = reportStreams(file, opts);
  const wanted = opts.events?.length ? (await import('./event-filter.js')).eventSelection(opts.events, file.registry) : undefined;
  const viewOf = eventViews(file.registry, opts);
  const tsOffset = Number(file.tsOffset);
  const claims = new Claims(word);
  claims.waitOpen();
  const bounds = receiveMessageOnPort(port)?.message as number[] | undefined;
  if (!bounds) return;
  for (let held = 0; held < HELD_BYTES; ) {
    const r = claims.back();
    if (r < 0) break;
    const [lo, hi] = rangeOf(bounds, r);
    const corrupt: (number | string)[] = [];
    const cursors = cursorsAt(streams, tsOffset, lo, { onCorruptPage: (input, page, message) => void corrupt.push(input, page, message) });
    const start = headsOf(cursors);
    // Each range starts from the file's names alone: names its records give count from them on.
    const comms = new TrackedComms(file.cmdlines);
    const ctx = renderContextOf(file, comms);
    const w = new TextWriter(TEXT_BYTES);
    const places: number[] = [];
    const lastTs = streams.map(() => NaN);
    const ledger = {
      place: (input: number, count: number) => (places.push(input, count), count),
      seen: (input: number, ts: number) => void (lastTs[input] = ts),
    };
    const summary = { printed: 0 };
    const print = recordPrinter(file.registry, ctx, opts, infos, wanted, w, ledger, summary, viewOf);
    let grew = true;
    const records = mergeCursors(
      cursors,
      (input, ts, b, off, len, missed) => {
        if (ts < lastTs[input]!) grew = false;
        print(input, ts, b, off, len, missed);
      },
      hi - 1,
    );
    print.flush();
    held += w.pos;
    const buf = w.buf;
    const text = (buf.byteOffset === 0 ? buf.buffer : buf.buffer.slice(buf.byteOffset, buf.byteOffset + w.pos)) as ArrayBuffer;
    post(
      { input: r, text, length: w.pos, start, end: headsOf(cursors), grew, records, printed: summary.printed, places, lastTs, corrupt, asked: [...comms.asked], named: comms.named, history: print.history() },
      [text],
    );
  }
}

try {
  await run();
} catch (err) {
  post({ input: -1, error: faultOf(err) });
}
