/**
 * Chunks of a compressed trace decompressed on a worker thread while the main thread renders. Each
 * CPU stream's runs go through a few shared slots; either thread claims the next run of a stream
 * (one shared counter per stream), so the main thread never waits for a worker that has not started
 * or is starved: a run nobody has claimed when it is needed it decompresses itself.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { newSignal, type Fault } from './thread-signal.js';
import { LkstError } from '../../base/errors.js';
import { maxRun, type CpuStream, type ZRun } from '../../file/cpu-stream.js';
import type { Trace } from '../../trace/model.js';

/** Slots per stream: the one the main thread reads, and two the worker fills ahead. */
export const SLOTS = 3;
/** The slots of all streams together stay about this big (runs are cut smaller when there are many streams). */
const SLOT_BUDGET = 96 << 20;
const MIN_RUN = 1 << 20;
/** A worker that says nothing this long while the main thread waits for a run it claimed has died. */
const IDLE_MS = 60_000;

/**
 * The shared words of n streams: [0] wakes the worker; then per stream the next run nobody has
 * claimed, then the run the main thread reads (those before it are free); then per slot the run
 * it holds complete (-1: none).
 */
export const nextAt = (i: number): number => 1 + i;
export const heldAt = (n: number, i: number): number => 1 + n + i;
export const slotAt = (n: number, i: number, run: number): number => 1 + 2 * n + i * SLOTS + (run % SLOTS);

export function sharedWords(n: number): Int32Array {
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (1 + 2 * n + n * SLOTS)));
  ctl.fill(-1, heldAt(n, 0));
  return ctl;
}

/** Claims run k of stream i for the thread that asks (it decompresses it): false when it is taken. */
export function claim(ctl: Int32Array, i: number, k: number): boolean {
  return Atomics.compareExchange(ctl, nextAt(i), k, k + 1) === k;
}

/** Regroups a stream's runs so that the slots of every stream fit SLOT_BUDGET. */
function regroup(runs: readonly ZRun[], limit: number): ZRun[] {
  const out: ZRun[] = [];
  for (const run of runs) {
    const last = out[out.length - 1];
    if (run.damaged || !last || last.damaged || last.raw + run.raw > limit || out.length === 1) {
      out.push(run.damaged ? run : { ...run, chunks: [...run.chunks] });
      if (run.damaged || run.raw <= limit) continue;
      // A run bigger than the limit: its chunks apart.
      const big = out.pop()!;
      let cur: ZRun | undefined;
      for (const c of big.chunks) {
        if (!cur || cur.raw + c.rawSize > limit) out.push((cur = { cpu: big.cpu, chunks: [], raw: 0, pageSize: big.pageSize }));
        cur.chunks.push(c);
        cur.raw += c.rawSize;
      }
      continue;
    }
    last.chunks.push(...run.chunks);
    last.raw += run.raw;
  }
  return out;
}

export class ChunkPrefetcher {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = newSignal();
  private readonly n: number;
  private readonly ctl: Int32Array;
  private readonly runs: ZRun[][];
  private readonly slots: SharedArrayBuffer[][];
  private readonly taken: number[];
  private failed = false;

  /**
   * streams: the inputs, compressed CPU streams (with runs) of the file at path. waitForWorker
   * (tests): this thread decompresses only what the worker could not.
   */
  constructor(path: string, compression: string, private readonly streams: CpuStream[], private readonly waitForWorker = false) {
    this.n = streams.length;
    const limit = Math.max(MIN_RUN, Math.floor(SLOT_BUDGET / (SLOTS * streams.length)));
    this.runs = streams.map((s) => regroup(s.runs!, limit));
    this.slots = this.runs.map((r) => {
      const size = Math.max(1, maxRun(r));
      return Array.from({ length: Math.min(SLOTS, r.length) || 1 }, () => new SharedArrayBuffer(size));
    });
    this.ctl = sharedWords(this.n);
    this.taken = streams.map(() => 0);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./prefetch-worker.js', import.meta.url), {
      workerData: { path, compression, runs: this.runs, slots: this.slots, ctl: this.ctl, port: port2, signal: this.signal },
      transferList: [port2],
    });
    this.worker.unref();
  }

  /** Decompresses run k of stream i into its slot on this thread. */
  private here(i: number, k: number): void {
    const run = this.runs[i]![k]!;
    const slot = new Uint8Array(this.slots[i]![k % SLOTS]!, 0, run.raw);
    const out = this.streams[i]!.decompress!(run, slot);
    if (out.buffer !== slot.buffer || out.byteOffset !== 0) slot.set(out.subarray(0, run.raw));
  }

  /** A fault the worker sent: from then on this thread decompresses everything. */
  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) if ((m.message as Fault).error) this.failed = true;
  }

  /** Run k of stream i, as a view of its slot (valid until the next run of the stream is asked for). */
  private get(i: number, k: number): Buffer {
    // The run before is done with: its slot is free for the worker.
    Atomics.store(this.ctl, heldAt(this.n, i), k);
    Atomics.add(this.ctl, 0, 1);
    Atomics.notify(this.ctl, 0);
    const ready = slotAt(this.n, i, k);
    for (let waited = 0; Atomics.load(this.ctl, ready) !== k; ) {
      this.drain();
      if ((!this.waitForWorker || this.failed) && claim(this.ctl, i, k)) {
        this.here(i, k);
        break;
      }
      // Claimed by the worker: it is decompressing it now, unless it failed on it.
      if (this.failed) {
        this.here(i, k);
        break;
      }
      const seen = Atomics.load(this.signal, 0);
      if (Atomics.load(this.ctl, ready) === k) break;
      if (Atomics.wait(this.signal, 0, seen, 1000) === 'timed-out' && (waited += 1000) >= IDLE_MS) {
        throw new LkstError('the thread decompressing the trace stopped answering', 'run again without LKST_PREFETCH');
      }
    }
    return Buffer.from(this.slots[i]![k % SLOTS]!, 0, this.runs[i]![k]!.raw);
  }

  /** The chunks of one input, as an iterable for the merge (each valid until the next is taken). */
  chunks(input: number): Iterable<Buffer> {
    return {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<Buffer> => {
          const k = this.taken[input]!;
          if (k >= this.runs[input]!.length) return { value: undefined, done: true };
          this.taken[input] = k + 1;
          return { value: this.get(input, k), done: false };
        },
      }),
    };
  }

  close(): void {
    // Nothing is left to claim: the worker stops at its next look.
    for (let i = 0; i < this.n; i++) Atomics.store(this.ctl, nextAt(i), 0x7fffffff);
    Atomics.add(this.ctl, 0, 1);
    Atomics.notify(this.ctl, 0);
    this.port.close();
    void this.worker.terminate();
  }
}

/**
 * Points the inputs (one per stream) of a compressed trace.dat at a prefetcher when asked
 * (LKST_PREFETCH=1), which the caller closes; undefined (the inputs left as they are) otherwise,
 * for other files, streams of one run each, or no threads. Off by default: decompressing into a
 * reused buffer costs ~50 ms a 55 MB stream, less than the thread's own start, and on the busy
 * 2-CPU VM a run the thread had claimed kept the main thread waiting (docs/bench.md, session 8).
 * LKST_PREFETCH=worker (tests): the worker decompresses every run it can, this thread waits for it.
 */
export function prefetchInputs(file: Trace, streams: CpuStream[], inputs: { chunks: Iterable<Buffer> }[]): ChunkPrefetcher | undefined {
  const compression = 'compression' in file ? String(file.compression) : 'none';
  const mode = process.env.LKST_PREFETCH;
  if (compression === 'none' || !inputs.length || !streams.every((s) => s.runs && s.decompress) || (mode !== '1' && mode !== 'worker')) return undefined;
  if (mode !== 'worker' && streams.every((s) => s.runs!.length <= 1)) return undefined;
  try {
    const prefetch = new ChunkPrefetcher(file.path, compression, streams, mode === 'worker');
    inputs.forEach((inp, i) => (inp.chunks = prefetch.chunks(i)));
    return prefetch;
  } catch {
    return undefined; // no worker threads here: decompress on this thread
  }
}
