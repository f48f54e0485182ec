/**
 * The one trace model: event formats + every buffer's per-CPU page streams + metadata. Every
 * source fills it (a trace.dat of lkst or trace-cmd, a crash dump read in place, a live buffer);
 * every consumer (report, stats, state, analyses, SQL, exports, viewer) reads all of it.
 * Pages stay where the source keeps them and are handed out lazily, in chunks of whole pages.
 */
import type { EventRegistry } from '../events/registry.js';
import { LkstError } from '../base/errors.js';
import type { KernelSymbols } from '../events/kallsyms.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import type { ClockOffset } from './clocks.js';

/** A ring buffer's counters for one CPU at one moment (per_cpu/cpuN/stats, or read from a dump). */
export interface CpuCounters {
  /** Events overwritten before a reader took them (overwrite mode). */
  overrun: number;
  /** Events the writer discarded because the buffer was full (stop-when-full mode). */
  dropped: number;
  commitOverrun: number;
  /** Events still in the buffer when read. */
  entries: number;
}

/** What a source knows about one CPU's losses, beyond the flags in its pages. */
export interface CpuLossCounters {
  /** The counters when the recording began (a fresh buffer: all zero). Unknown for trace-cmd's files. */
  start?: CpuCounters;
  /** The counters when it ended. */
  end?: CpuCounters;
  /**
   * How much of the counts flagged in this stream's pages fell before the recording began (a
   * reader that attaches to a buffer that has already wrapped is told of those on its first page).
   */
  beforeInPages?: number;
  /** Events the kernel handed to the recorder that never reached the file (a page mover killed with pages in hand). */
  inTransit?: number;
  /** Why the counters at the end are unknown (a recorder killed with its buffer gone): losses after the last page cannot be known. */
  cutShort?: string;
  /** Events lost on some CPU of the buffer, which one not known (the BPF engine's recursion-guard misses), and why. */
  unknownCpu?: { count: number; why: string };
}

/** One CPU's pages of one buffer. */
export interface CpuPageStream {
  cpu: number;
  pageSize: number;
  /** Bytes of pages (uncompressed), a multiple of the page size. */
  size: number;
  /**
   * Chunks of whole pages in time order; each call starts over. reuse: the caller is done with a
   * chunk when it asks for the next, so the source may read the next into the same memory.
   */
  chunks(reuse?: boolean): Iterable<Buffer>;
  /** The chunks from page `page` on, for sources that can start there without reading the pages before (a resumed walk). */
  chunksFrom?(page: number): Iterable<Buffer>;
  /** The i-th chunk chunks() gives, read alone (sources that can seek; the viewer reads windows by it). */
  chunkAt?(i: number): Buffer | undefined;
  /** The per_cpu stats text the recorder saved, as it was written (trace-cmd's CPUSTAT). */
  statsText?: string;
  counters: CpuLossCounters;
}

/** One ring buffer (a tracefs instance; "" is the top-level buffer). */
export interface TraceBuffer {
  name: string;
  clock: string;
  /**
   * What to add to this buffer's times to put them on the trace's first buffer's clock, when it is
   * known (the first buffer's own is zero); absent: not known (trace/clocks.ts says what follows).
   */
  clockOffset?: ClockOffset;
  pageSize: number;
  cpus: CpuPageStream[];
}

export type TraceSourceKind = 'trace.dat' | 'dump' | 'live';

export interface Trace {
  /** The path (or instance) it was read from. */
  path: string;
  kind: TraceSourceKind;
  meta: TraceMeta;
  registry: EventRegistry;
  /** Every buffer, the top-level one (or the first recorded) first. */
  buffers: TraceBuffer[];
  /** Added to every timestamp (trace.dat OFFSET option). */
  tsOffset: bigint;
  /** What was wrong but readable (a cut-off end, unparsable formats, pages missing from a dump). */
  warnings: string[];
  /** kallsyms, parsed on first use. */
  readonly kallsyms: KernelSymbols;
  /** printk_formats by address, parsed on first use. */
  readonly printkFormats: Map<bigint, string>;
  /** saved cmdlines, pid → comm, parsed on first use. */
  readonly cmdlines: Map<number, string>;
  close(): void;
}

/** The buffers a consumer was asked for (--buffer NAME, repeatable); all when none named. */
export function selectBuffers(trace: Pick<Trace, 'buffers' | 'path'>, names?: readonly string[]): TraceBuffer[] {
  if (!names?.length) return trace.buffers;
  const label = (b: TraceBuffer) => b.name || 'top';
  const out: TraceBuffer[] = [];
  for (const n of names) {
    const b = trace.buffers.find((x) => x.name === n || label(x) === n);
    if (!b) throw new LkstError(`${trace.path} has no buffer '${n}' (it has: ${trace.buffers.map(label).join(', ')})`, 'name one of those with --buffer');
    if (!out.includes(b)) out.push(b);
  }
  return out;
}

/** A buffer's display name: "top" for the top-level buffer. */
export function bufferLabel(b: { name: string }): string {
  return b.name || 'top';
}
