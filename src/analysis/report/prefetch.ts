/**
 * Chunks of a compressed trace decompressed on a worker thread while the main thread renders:
 * each CPU stream keeps a couple of chunks requested ahead; the main thread takes them with a
 * synchronous receive (the merge is synchronous), waiting only when the worker is behind.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { newSignal, receiveAny } from './thread-signal.js';
import type { CpuStream } from '../../file/cpu-stream.js';
import type { Trace } from '../../trace/model.js';

const AHEAD = 2;

interface Reply {
  input: number;
  done?: boolean;
  data?: ArrayBuffer;
}

export class ChunkPrefetcher {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = newSignal();
  private readonly queues: (Buffer | null)[][];
  private readonly asked: number[];

  /**
   * streams: the inputs, compressed CPU streams (with runs) of the file at path. Each stream's first
   * run is decompressed here, while the worker starts up; the worker does the rest.
   */
  constructor(path: string, compression: string, private readonly streams: CpuStream[]) {
    const runs = streams.map((s) => s.runs!.slice(1));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.queues = runs.map(() => []);
    this.asked = runs.map(() => 0);
    this.worker = new Worker(new URL('./prefetch-worker.js', import.meta.url), {
      workerData: { path, compression, runs, port: port2, signal: this.signal },
      transferList: [port2],
    });
    this.worker.unref();
    runs.forEach((_, i) => {
      for (let k = 0; k < AHEAD; k++) this.ask(i);
    });
  }

  private ask(input: number): void {
    this.asked[input]!++;
    this.port.postMessage(input);
  }

  private take(): void {
    const r = receiveAny<Reply>([this.port], this.signal, 'decompressing the trace', 'run again with LKST_PREFETCH=0');
    this.asked[r.input]!--;
    this.queues[r.input]!.push(r.done ? null : Buffer.from(r.data!));
  }

  /** The next chunk of an input, or undefined at its end. */
  next(input: number): Buffer | undefined {
    const q = this.queues[input]!;
    while (!q.length) this.take();
    const c = q.shift()!;
    if (c === null) {
      q.unshift(null);
      return undefined;
    }
    this.ask(input);
    return c;
  }

  /** The chunks of one input, as an iterable for the merge. */
  chunks(input: number): Iterable<Buffer> {
    let first = this.streams[input]!.runs!.length > 0;
    return {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<Buffer> => {
          if (first) {
            first = false;
            const r = this.streams[input]!.chunks()[Symbol.iterator]().next();
            if (!r.done) return r;
          }
          const c = this.next(input);
          return c ? { value: c, done: false } : { value: undefined, done: true };
        },
      }),
    };
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}

/**
 * Points the inputs (one per stream) of a compressed trace.dat at a prefetcher, which the caller
 * closes; undefined (the inputs left as they are) for other files, LKST_PREFETCH=0 or no threads.
 */
export function prefetchInputs(file: Trace, streams: CpuStream[], inputs: { chunks: Iterable<Buffer> }[]): ChunkPrefetcher | undefined {
  const compression = 'compression' in file ? String(file.compression) : 'none';
  if (compression === 'none' || !inputs.length || !streams.every((s) => s.runs) || process.env.LKST_PREFETCH === '0') return undefined;
  try {
    const prefetch = new ChunkPrefetcher(file.path, compression, streams);
    inputs.forEach((inp, i) => (inp.chunks = prefetch.chunks(i)));
    return prefetch;
  } catch {
    return undefined; // no worker threads here: decompress on this thread
  }
}
