/**
 * What the analyses read: the trace model, narrowed to the buffers asked for (all by default),
 * with the lookups the analyses use.
 */
import type { EventRegistry } from '../events/registry.js';
import { symbolLabel } from '../events/kallsyms.js';
import { selectBuffers, type Trace, type TraceBuffer } from '../trace/model.js';

export interface TraceInput {
  path: string;
  registry: EventRegistry;
  /** The buffers to read, each with its CPUs' pages. */
  buffers: TraceBuffer[];
  /** pid → comm from saved_cmdlines, used for tasks seen only by pid. */
  cmdlines?: Map<number, string>;
  /** Resolves a kernel address to "symbol+0xoff", when the trace carries kallsyms. */
  symbolize?: (addr: bigint) => string | undefined;
  warnings?: string[];
  /** The trace clock (local, global, mono...), when known. */
  clock?: string;
  /** The kernel's uname, when the trace has it. */
  uname?: string;
  /** The maskset in force when the file was written (lkst's files). */
  maskset?: string;
  /** Added to every timestamp (trace.dat OFFSET option). */
  tsOffset?: bigint;
}

/** Symbols further than this from an address are not the address's function. */
const MAX_SYMBOL_OFFSET = 0x100000n;

/** The analysis input of a trace: the buffers named (all when none), cmdlines and kallsyms lookups. */
export function analysisInput(trace: Trace, bufferNames?: readonly string[]): TraceInput {
  return {
    path: trace.path,
    registry: trace.registry,
    buffers: selectBuffers(trace, bufferNames),
    get cmdlines() {
      return trace.cmdlines;
    },
    symbolize: (addr) => symbolLabel(trace.kallsyms, addr, MAX_SYMBOL_OFFSET),
    warnings: trace.warnings,
    clock: trace.buffers[0]?.clock ?? trace.meta.clock,
    uname: trace.meta.uname,
    ...(trace.meta.maskset ? { maskset: trace.meta.maskset } : {}),
    tsOffset: trace.tsOffset,
  };
}

/** Every (buffer, CPU) page stream of the input, in buffer order. */
export function inputStreams(input: Pick<TraceInput, 'buffers'>): { buffer: string; stream: TraceBuffer['cpus'][number] }[] {
  return input.buffers.flatMap((b) => b.cpus.map((stream) => ({ buffer: b.name, stream })));
}
