/**
 * A crash dump as a source of the trace model, read in place: each CPU's pages come out of the
 * still open dump when a consumer asks, with no spill files and no temporary trace.dat.
 */
import { buildRegistry } from '../file/reader.js';
import { KernelSymbols } from '../events/kallsyms.js';
import { parseCmdlines } from '../events/cmdlines.js';
import { parsePrintkFormats } from '../file/symbols.js';
import { lossCountersOfDump } from './loss.js';
import { recoverFromDump, type RecoverOptions, type Recovery } from './recover.js';
import type { CpuPages } from './ringbuffer.js';
import type { CpuPageStream, Trace, TraceBuffer } from '../trace/model.js';
import { dumpError } from './errors.js';

const CHUNK_BYTES = 1 << 20;

export interface DumpTrace extends Trace {
  recovery: Recovery;
}

/** Opens a dump as a trace; close() closes the dump. */
export function openDumpTrace(path: string, opts: RecoverOptions = {}): DumpTrace {
  const rec = recoverFromDump(path, opts);
  try {
    return traceOfRecovery(rec, path);
  } catch (e) {
    rec.close();
    throw e;
  }
}

export function traceOfRecovery(rec: Recovery, path: string): DumpTrace {
  const main = rec.buffers[0];
  if (!main) throw dumpError(`no ftrace buffer could be read from the dump${rec.summary.warnings[0] ? ` (${rec.summary.warnings[0]})` : ''}`, 'nothing to read');
  const warnings = [...rec.summary.warnings];
  const meta = main.meta;
  const buffers: TraceBuffer[] = rec.buffers.map((b) => ({
    name: b.name === 'top' ? '' : b.name,
    clock: b.meta.clock,
    pageSize: b.meta.pageSize,
    cpus: b.cpus.map((c) => dumpCpuStream(c, b.meta.pageSize, b.meta.cpuStats?.[c.cpu])),
  }));
  let syms: KernelSymbols | undefined;
  let printk: Map<bigint, string> | undefined;
  let comms: Map<number, string> | undefined;
  return {
    path,
    kind: 'dump',
    meta,
    registry: buildRegistry(meta.ftraceFormats, meta.eventFormats, warnings),
    buffers,
    tsOffset: 0n,
    warnings,
    recovery: rec,
    get kallsyms() {
      return (syms ??= new KernelSymbols(meta.kallsyms));
    },
    get printkFormats() {
      return (printk ??= parsePrintkFormats(meta.printk));
    },
    get cmdlines() {
      return (comms ??= parseCmdlines(meta.cmdlines));
    },
    close: () => rec.close(),
  };
}

function dumpCpuStream(c: CpuPages, pageSize: number, statsText: string | undefined): CpuPageStream {
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / pageSize));
  return {
    cpu: c.cpu,
    pageSize,
    size: c.pageCount * pageSize,
    statsText,
    counters: lossCountersOfDump(c),
    *chunks() {
      yield* pieces(c, pageSize, perChunk);
    },
  };
}

/** Pages in a row that are handed on as a view of the memory they lie in, not copied. */
const MIN_VIEW_PAGES = 16;

/**
 * A CPU's pages in chunks of at most perChunk pages: a run of pages lying one after another in one
 * piece of memory (a kdump's kept pages, in the order first read) as a view of it, the rest copied
 * together.
 */
function* pieces(c: CpuPages, pageSize: number, perChunk: number): Generator<Buffer> {
  let copy: Buffer[] = [];
  let run: Buffer[] = [];
  const flushCopy = function* () {
    if (copy.length) yield copy.length === 1 ? copy[0]! : Buffer.concat(copy, copy.length * pageSize);
    copy = [];
  };
  const endRun = function* () {
    if (run.length >= MIN_VIEW_PAGES) {
      yield* flushCopy();
      yield Buffer.from(run[0]!.buffer, run[0]!.byteOffset, run.length * pageSize);
    } else {
      for (const p of run) {
        copy.push(p);
        if (copy.length === perChunk) yield* flushCopy();
      }
    }
    run = [];
  };
  for (let i = 0; i < c.pageCount; i++) {
    const p = c.page(i);
    const last = run[run.length - 1];
    const follows = last && last.length === pageSize && p.length === pageSize && p.buffer === last.buffer && p.byteOffset === last.byteOffset + pageSize;
    if (run.length && (!follows || run.length === perChunk)) yield* endRun();
    run.push(p);
  }
  yield* endRun();
  yield* flushCopy();
}
