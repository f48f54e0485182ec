/**
 * What the analyses read: a trace's event formats and each CPU's pages as chunks of whole pages.
 * Structurally the trace file reader's TraceFile (and any other source of the one trace shape),
 * so recorded, dumped and recovered traces all feed the same analyses.
 */
import type { EventRegistry } from '../events/registry.js';

export interface InputCpu {
  cpu: number;
  pageSize: number;
  /** Chunks of whole raw pages in time order; each call starts over. */
  chunks(): Iterable<Buffer>;
  /** Lost-event counters the recorder saved for this CPU, when known. */
  lost?: { overrun: number; dropped: number };
}

export interface TraceInput {
  registry: EventRegistry;
  cpus: InputCpu[];
  /** pid → comm from saved_cmdlines, used for tasks seen only by pid. */
  cmdlines?: Map<number, string>;
  /** Resolves a kernel address to "symbol+0xoff", when the trace carries kallsyms. */
  symbolize?: (addr: bigint) => string | undefined;
  warnings?: string[];
  /** The trace clock (local, global, mono...), when known. */
  clock?: string;
}
