/**
 * Reads the events of a time window again from the trace instead of keeping them: while the build
 * pass reads each (buffer, CPU) stream, the time of every chunk's first page is noted; a window then
 * decodes only the chunks that can hold its events.
 */
import { mergeRecords } from '../ringbuf/merge.js';
import { readPageHeader } from '../ringbuf/page.js';
import { TraceEvent } from '../analysis/event.js';
import { inputStreams, type TraceInput } from '../analysis/input.js';
import { streamTimeOffsets } from '../analysis/stream.js';
import type { CpuPageStream } from '../trace/model.js';

export class ChunkIndex {
  /** Per stream (inputStreams order): the first page time of each chunk, NaN where unreadable. */
  readonly firsts: number[][];
  /** Per stream: what puts its times on the analyses' axis (the file's offset, its buffer's clock offset). */
  private readonly tsOffsets: number[];

  /** firsts: as noted by an earlier pass over the same trace (a cache); else noted by watch(). */
  constructor(
    readonly input: TraceInput,
    firsts?: number[][],
  ) {
    this.firsts = firsts ?? inputStreams(input).map(() => []);
    this.tsOffsets = streamTimeOffsets(input).offsets;
  }

  /** The same input, its streams noting each chunk's first time as they are read. */
  watch(): TraceInput {
    let k = 0;
    const buffers = this.input.buffers.map((b) => ({
      ...b,
      cpus: b.cpus.map((c) => {
        const offset = this.tsOffsets[k]!;
        const firsts = this.firsts[k++]!;
        const watched: CpuPageStream = Object.create(c);
        watched.chunks = (reuse?: boolean) => this.noting(firsts, offset, c.chunks(reuse));
        if (c.chunkAt) watched.chunkAt = (i) => c.chunkAt!(i);
        return watched;
      }),
    }));
    return Object.assign(Object.create(this.input) as TraceInput, { buffers });
  }

  private *noting(firsts: number[], offset: number, chunks: Iterable<Buffer>): Generator<Buffer> {
    let i = 0;
    for (const chunk of chunks) {
      if (i === firsts.length) firsts.push(pageTime(chunk, offset));
      i++;
      yield chunk;
    }
  }

  /** The chunks of stream s that can hold records in [t0, t1]. */
  private *chunksFor(stream: CpuPageStream, firsts: number[], t0: number, t1: number): Generator<Buffer> {
    // Start at the last chunk beginning before t0: records of t0 may sit at its end.
    let start = 0;
    for (let i = 0; i < firsts.length; i++) if (firsts[i]! < t0) start = i;
    if (stream.chunkAt) {
      for (let i = start; ; i++) {
        const f = firsts[i];
        if (f !== undefined && f > t1) return;
        const chunk = stream.chunkAt(i);
        if (!chunk) return;
        yield chunk;
      }
    }
    let i = 0;
    for (const chunk of stream.chunks()) {
      if (i >= start) {
        const f = firsts[i];
        if (f !== undefined && f > t1) return;
        yield chunk;
      }
      i++;
    }
  }

  /**
   * Calls visit for each record in [t0, t1] (absolute ns) of the streams wanted (all when none), in
   * time order, with the stream's index and the record's ordinal among its stream's records of the same time.
   */
  read(t0: number, t1: number, visit: (ev: TraceEvent, stream: number, nth: number) => boolean | void, wanted?: ReadonlySet<number>): void {
    const streams = inputStreams(this.input);
    const used = streams.map((_, i) => i).filter((i) => !wanted || wanted.has(i));
    const ev = new TraceEvent();
    const reg = this.input.registry;
    const lastTs = new Float64Array(streams.length).fill(NaN);
    const nth = new Int32Array(streams.length);
    mergeRecords(
      used.map((i) => ({ chunks: { [Symbol.iterator]: () => this.chunksFor(streams[i]!.stream, this.firsts[i]!, t0, t1) }, pageSize: streams[i]!.stream.pageSize, tsOffset: this.tsOffsets[i]! })),
      (j, ts, buf, off, len) => {
        if (ts > t1) return false;
        const s = used[j]!;
        nth[s] = ts === lastTs[s] ? nth[s]! + 1 : 0;
        lastTs[s] = ts;
        if (ts < t0) return;
        ev.ts = ts;
        ev.cpu = streams[s]!.stream.cpu;
        ev.buffer = streams[s]!.buffer;
        ev.buf = buf;
        ev.off = off;
        ev.len = len;
        ev.id = len >= 2 ? buf.readUInt16LE(off) : -1;
        ev.fmt = reg.get(ev.id);
        return visit(ev, s, nth[s]!);
      },
    );
  }
}

function pageTime(chunk: Buffer, offset: number): number {
  try {
    return Number(readPageHeader(chunk, 0).timestamp) + offset;
  } catch {
    return NaN;
  }
}
