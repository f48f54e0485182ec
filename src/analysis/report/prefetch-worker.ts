/**
 * Worker side of the chunk prefetcher: opens the same trace file and hands each requested CPU
 * stream's next chunk (decompressed pages) to the main thread, so decompression runs while the
 * main thread renders.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openTraceDat } from '../../file/reader.js';
import { LkstError } from '../../tracefs/errors.js';

interface Data {
  path: string;
  /** [buffer index, cpu index within the buffer] per input. */
  inputs: [number, number][];
  port: MessagePort;
  signal: Int32Array;
}

const { path, inputs, port, signal } = workerData as Data;

function post(msg: unknown, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function errorOf(err: unknown): { what: string; fix: string } {
  return err instanceof LkstError ? { what: err.what, fix: err.fix } : { what: (err as Error)?.message ?? String(err), fix: '' };
}

// The main thread waits synchronously: every failure must reach it as a message.
let iters: Iterator<Buffer>[] = [];
let startError: { what: string; fix: string } | undefined;
try {
  const file = openTraceDat(path);
  iters = inputs.map(([b, c]) => file.buffers[b]!.cpus[c]!.chunks()[Symbol.iterator]());
} catch (err) {
  startError = errorOf(err);
}
process.on('uncaughtException', (err) => post({ input: -1, error: errorOf(err) }));

port.on('message', (input: number) => {
  if (startError) return post({ input, error: startError });
  try {
    const r = iters[input]!.next();
    if (r.done) return post({ input, done: true });
    // Hand over the bytes without a copy when the chunk owns its whole memory.
    let chunk = r.value;
    if (chunk.byteOffset !== 0 || chunk.byteLength !== chunk.buffer.byteLength || !(chunk.buffer instanceof ArrayBuffer)) chunk = Buffer.from(chunk);
    const ab = chunk.buffer as ArrayBuffer;
    post({ input, done: false, data: ab }, [ab]);
  } catch (err) {
    post({ input, error: errorOf(err) });
  }
});
void parentPort;
