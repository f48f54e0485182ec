/**
 * Worker side of the chunk prefetcher: opens the same trace file and hands each requested CPU
 * stream's next chunk (decompressed pages) to the main thread, so decompression runs while the
 * main thread renders.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { decompressorFor } from '../../file/compression.js';
import { decompressRun, type ZRun } from '../../file/cpu-stream.js';
import { FileSource } from '../../file/source.js';
import { LkstError } from '../../base/errors.js';
import { faultOf, notify } from './thread-signal.js';

interface Data {
  path: string;
  compression: string;
  /** Per input, the runs of compressed chunks to decompress in order. */
  runs: ZRun[][];
  port: MessagePort;
  signal: Int32Array;
}

const { path, compression, runs, port, signal } = workerData as Data;

function post(msg: unknown, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  notify(signal);
}

// The main thread waits synchronously: every failure must reach it as a message.
// Only the file and the decompressor: the main thread has read the chunk tables already.
let src: FileSource | undefined;
let unzip: ReturnType<typeof decompressorFor>;
let startError: { what: string; fix: string } | undefined;
const taken = runs.map(() => 0);
try {
  src = FileSource.open(path);
  unzip = decompressorFor(compression, path);
  if (!unzip) throw new LkstError(`${path} is not compressed`, 'read it without the decompressing thread (LKST_PREFETCH=0)');
} catch (err) {
  startError = faultOf(err);
}
process.on('uncaughtException', (err) => post({ input: -1, error: faultOf(err) }));

port.on('message', (input: number) => {
  if (startError) return post({ input, error: startError });
  try {
    const run = runs[input]![taken[input]!++];
    if (!run) return post({ input, done: true });
    // Hand over the bytes without a copy when the chunk owns its whole memory.
    let chunk = decompressRun(src!, run, unzip!);
    if (chunk.byteOffset !== 0 || chunk.byteLength !== chunk.buffer.byteLength || !(chunk.buffer instanceof ArrayBuffer)) chunk = Buffer.from(chunk);
    const ab = chunk.buffer as ArrayBuffer;
    post({ input, done: false, data: ab }, [ab]);
  } catch (err) {
    post({ input, error: faultOf(err) });
  }
});
void parentPort;
