/**
 * What writing a trace file takes, as a type: capture code (logd, buffer dump) is handed a writer
 * by its caller and never imports the file layer above it.
 */
import type { TraceMeta } from '../ringbuf/meta.js';
import type { ClockOffset } from './clocks.js';

/** Pages of a source read in place (a dump): their size is known and they come in chunks. */
export interface PageChunks {
  size: number;
  chunks(): Iterable<Buffer>;
}

/** One CPU's pages: a file of whole raw pages, the pages in memory, or chunks from another source. */
export interface CpuPages {
  cpu: number;
  source: string | Buffer | PageChunks;
}

/** A further buffer (tracefs instance) stored next to the main one. */
export interface ExtraBuffer {
  name: string;
  clock?: string;
  /** Its offset to the main buffer's clock, when measured (stored in lkst's LKST_CLOCKS option). */
  clockOffset?: ClockOffset;
  pageSize?: number;
  cpus: CpuPages[];
  cpuStats?: (string | undefined)[];
}

export interface WriteOptions {
  /** Other instances recorded in the same session; each becomes a named BUFFER. */
  buffers?: ExtraBuffer[];
  /** Added to every timestamp on reading (OFFSET option), in clock units. */
  tsOffset?: number | bigint;
  /** Recorded in the VERSION option. */
  version?: string;
  /**
   * The pages may stay where they are: the largest page file (the file's last piece) becomes the
   * trace file, with the rest inserted before its pages (file/writer.ts writeAdopted). For page
   * files of a recording, whose removal then leaves the trace under its name.
   */
  adoptPageFile?: boolean;
}

/** Writes a trace file (file/writer.ts's writeTraceDat is the one). */
export type TraceWriter = (path: string, meta: TraceMeta, cpus: CpuPages[], opts?: WriteOptions) => Promise<void>;
