/**
 * Worker side of the chunk prefetcher (prefetch.ts): opens the same trace file and decompresses the
 * next runs of the streams into their shared slots, up to SLOTS - 1 runs past the one the main
 * thread reads, each run claimed first (the main thread takes runs nobody has claimed itself).
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { decompressorFor } from '../../file/compression.js';
import { decompressRun, type ZRun } from '../../file/cpu-stream.js';
import { FileSource } from '../../file/source.js';
import { LkstError } from '../../base/errors.js';
import { faultOf, notify } from './thread-signal.js';
import { SLOTS, claim, heldAt, nextAt, slotAt } from './prefetch.js';

interface Data {
  path: string;
  compression: string;
  /** Per stream, the runs of compressed chunks in order. */
  runs: ZRun[][];
  /** Per stream, SLOTS buffers (fewer for streams of fewer runs): run k goes to slot k % SLOTS. */
  slots: SharedArrayBuffer[][];
  ctl: Int32Array;
  port: MessagePort;
  signal: Int32Array;
}

const { path, compression, runs, slots, ctl, port, signal } = workerData as Data;
const n = runs.length;

/** The stream and run to decompress next: the claimable run of the stream least ahead of the main thread. */
function pick(): [number, number] | undefined {
  let best: [number, number] | undefined;
  let ahead = Infinity;
  for (let i = 0; i < n; i++) {
    const k = Atomics.load(ctl, nextAt(i));
    const held = Atomics.load(ctl, heldAt(n, i));
    // Slots free: the one of every run before the one the main thread reads, none of those after.
    if (k >= runs[i]!.length || k - Math.max(held, 0) >= SLOTS) continue;
    if (k - held < ahead) [best, ahead] = [[i, k], k - held];
  }
  return best;
}

function run(): void {
  const src = FileSource.open(path);
  const unzip = decompressorFor(compression, path);
  if (!unzip) throw new LkstError(`${path} is not compressed`, 'read it without the decompressing thread (no LKST_PREFETCH)');
  for (;;) {
    const wake = Atomics.load(ctl, 0);
    const next = pick();
    if (!next) {
      if (runs.every((r, i) => Atomics.load(ctl, nextAt(i)) >= r.length)) return;
      Atomics.wait(ctl, 0, wake, 1000);
      continue;
    }
    const [i, k] = next;
    if (!claim(ctl, i, k)) continue;
    const r = runs[i]![k]!;
    const slot = new Uint8Array(slots[i]![k % SLOTS]!, 0, r.raw);
    const out = decompressRun(src, r, unzip, slot);
    if (out.buffer !== slot.buffer || out.byteOffset !== 0) slot.set(out.subarray(0, r.raw));
    Atomics.store(ctl, slotAt(n, i, k), k);
    notify(signal);
  }
}

// The main thread waits synchronously: a failure must reach it as a message (it then decompresses
// the runs itself).
try {
  run();
} catch (err) {
  port.postMessage({ input: -1, error: faultOf(err) });
  notify(signal);
}
