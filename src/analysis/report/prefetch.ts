/**
 * Chunks of a compressed trace decompressed on a worker thread while the main thread renders:
 * each CPU stream keeps a couple of chunks requested ahead; the main thread takes them with a
 * synchronous receive (the merge is synchronous), waiting only when the worker is behind.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { CpuStream } from '../../file/cpu-stream.js';
import { LkstError } from '../../base/errors.js';

const AHEAD = 2;

interface Reply {
  input: number;
  done?: boolean;
  data?: ArrayBuffer;
  error?: { what: string; fix: string };
}

export class ChunkPrefetcher {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
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
    for (let idle = 0; ; ) {
      const seen = Atomics.load(this.signal, 0);
      const m = receiveMessageOnPort(this.port);
      if (m) {
        const r = m.message as Reply;
        if (r.error) throw new LkstError(r.error.what, r.error.fix);
        this.asked[r.input]!--;
        this.queues[r.input]!.push(r.done ? null : Buffer.from(r.data!));
        return;
      }
      // Nothing yet: sleep until the worker posts (or a second passes, to look again). A worker
      // that says nothing for a minute has died in a way it could not report.
      if (Atomics.wait(this.signal, 0, seen, 1000) === 'timed-out' && ++idle >= 60) {
        throw new LkstError('the thread decompressing the trace stopped answering', 'run again with LKST_PREFETCH=0');
      }
    }
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
