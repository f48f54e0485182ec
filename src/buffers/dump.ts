import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LkstError } from '../base/errors.js';
import type { Instance, CpuStats } from '../tracefs/instance.js';
import type { CpuCapture } from '../record/cpu-reader.js';
import { Segment, pageSizeOf, type SegmentWriteOptions } from './segment.js';

export interface DumpOptions extends SegmentWriteOptions {
  /** Stop the buffer first (tracing_on=0) and leave it stopped: the dump is exactly its content. */
  freeze?: boolean;
}

export interface DumpResult {
  path: string;
  /** Whether the buffer was still recording during the dump. */
  live: boolean;
  /** Kernel counters just before the dump (entries held, overrun...). */
  before: CpuStats[];
  captures: CpuCapture[];
  events: number;
}

/**
 * Writes a buffer's content to a trace.dat while the system keeps running. The read consumes
 * (trace_pipe_raw is the only binary reader; this kernel has no snapshot): what is dumped leaves
 * the buffer. A recording buffer keeps recording; the dump takes at most one buffer-full per CPU,
 * so a busy buffer cannot make it run forever.
 */
export async function dumpBuffer(inst: Instance, output: string, opts: DumpOptions): Promise<DumpResult> {
  const path = resolve(output);
  if (!existsSync(dirname(path))) throw new LkstError(`cannot write ${path}: its directory does not exist`, 'create it or choose another path with -o');
  if (opts.freeze) inst.tracingOn = false;
  const live = inst.tracingOn;
  const before = inst.cpus().map((c) => inst.cpuStats(c));
  const seg = new Segment([inst], dirname(path));
  try {
    const pagesPerCpu = Math.ceil((inst.bufferSizeKb * 1024) / pageSizeOf(inst)) + 2;
    seg.drain(pagesPerCpu);
    const captures = seg.captures()[0]!.cpus.map((c) => ({ ...c }));
    const events = seg.events;
    await seg.write(path, opts);
    return { path, live, before, captures, events };
  } catch (err) {
    seg.close();
    seg.removeFiles();
    throw err;
  }
}
