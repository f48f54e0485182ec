import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpuStatsToText, type CpuStats, type Instance } from '../tracefs/instance.js';
import { CpuReader, type CpuCapture } from '../record/cpu-reader.js';
import { collectLiveMeta, eventFormatTexts } from '../record/live-meta.js';
import { stampStartCounters } from '../record/loss-stats.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { tracefs } from '../tracefs/tracefs.js';
import type { ExtraBuffer, TraceWriter } from '../trace/writer-port.js';
import { bufferNameOf } from './name.js';
import { masksetIn } from '../masksets/state.js';
import { scanPageFile, tracepointsById, type TracepointName } from './formats.js';
import { ClockSync, printEventId, type SyncPhase } from './clock-sync.js';
import { removeSegmentJournal, writeSegmentJournal, type SegmentJournal } from './segment-journal.js';

export const DISCARD = '/dev/null';

interface SegmentBuffer {
  inst: Instance;
  pageSize: number;
  readers: CpuReader[];
  files: { cpu: number; source: string }[];
  /** The kernel's counters per reader when this segment began and ended reading. */
  start: (CpuStats | undefined)[];
  end?: (CpuStats | undefined)[];
}

/** The kernel's counters of a buffer's CPUs, per instance name: where one segment ends and the next begins. */
export type SegmentCounters = Map<string, (CpuStats | undefined)[]>;

export interface SegmentWriteOptions {
  /** Writes the file (file/writer.ts's writeTraceDat, handed down by the command: capture never imports the file layer). */
  writer: TraceWriter;
  /** Put /proc/kallsyms in the file (several MB; without it addresses show unresolved). */
  kallsyms?: boolean;
  /**
   * Metadata read once (collectLiveMeta) for a series of files: its kallsyms, header and uname are
   * reused; formats, command lines and CPU stats are read fresh for each file.
   */
  base?: TraceMeta;
}

let seq = 0;

export function pageSizeOf(inst: Instance): number {
  return (inst.subbufSizeKb ?? 4) * 1024;
}

/**
 * One stretch of capture from some buffers: a non-blocking reader per buffer and CPU, each filling a
 * page file in workDir (or discarding into /dev/null, still counting), later written as one trace.dat.
 */
export class Segment {
  private readonly buffers: SegmentBuffer[] = [];
  private closed = false;
  private readonly seq = ++seq;
  private journal: SegmentJournal | undefined;
  private sync: ClockSync | undefined;

  /**
   * startAt: the previous segment's end counters, so consecutive files share their boundary exactly.
   * journal: keep a journal beside the page files, so a daemon killed before writing them leaves a
   * trace the next one writes (segment-journal.ts).
   */
  constructor(instances: readonly Instance[], readonly workDir: string, readonly discard = false, startAt?: SegmentCounters, journal = false) {
    const tag = `${process.pid}-${this.seq}`;
    try {
      for (const inst of instances) {
        const pageSize = pageSizeOf(inst);
        const b: SegmentBuffer = { inst, pageSize, readers: [], files: [], start: startAt?.get(inst.name) ?? statsOf(inst) };
        this.buffers.push(b);
        for (const cpu of inst.cpus()) {
          const source = discard ? DISCARD : join(workDir, `.lkst-${tag}-${inst.name}-cpu${cpu}.pages`);
          b.readers.push(new CpuReader(cpu, inst.rawPipePath(cpu), pageSize, source));
          b.files.push({ cpu, source });
        }
      }
      if (journal && !discard) {
        this.journal = {
          version: 1,
          pid: process.pid,
          seq: this.seq,
          startedAt: new Date().toISOString(),
          buffers: this.buffers.map((b) => ({ instance: b.inst.name, pageSize: b.pageSize, files: b.files, start: b.start.map((st) => st ?? null) })),
        };
        writeSegmentJournal(workDir, this.journal);
      }
      if (!discard && instances.length > 1) {
        this.sync = new ClockSync(instances);
        this.sync.mark('start');
      }
    } catch (err) {
      this.close();
      this.removeFiles();
      throw err;
    }
  }

  /** Reads what each CPU of each buffer has now; maxPagesPerCpu bounds a read of a buffer that keeps filling. */
  drain(maxPagesPerCpu?: number): number {
    let pages = 0;
    for (const b of this.buffers) for (const r of b.readers) pages += r.drain(maxPagesPerCpu);
    return pages;
  }

  /**
   * Writes sync markers (clock-sync.ts) when the buffers' clocks differ: the constructor writes the
   * start's; the end's count only when read into this segment (a drain before markEnd).
   */
  syncClocks(phase: SyncPhase): void {
    this.sync?.mark(phase);
  }

  /** Counters per buffer and CPU. */
  captures(): { instance: string; cpus: CpuCapture[] }[] {
    return this.buffers.map((b) => ({ instance: b.inst.name, cpus: b.readers.map((r) => r.stats) }));
  }

  get events(): number {
    return this.buffers.reduce((s, b) => s + b.readers.reduce((t, r) => t + r.stats.events, 0), 0);
  }

  get bytes(): number {
    return this.buffers.reduce((s, b) => s + b.readers.reduce((t, r) => t + r.stats.pages * r.pageSize, 0), 0);
  }

  /** Stops the window: the counters now are this segment's end (and the next one's start). Idempotent. */
  markEnd(): SegmentCounters {
    const first = this.buffers.some((b) => !b.end);
    for (const b of this.buffers) b.end ??= statsOf(b.inst);
    if (first && this.journal) {
      try {
        writeSegmentJournal(this.workDir, { ...this.journal, buffers: this.journal.buffers.map((jb, i) => ({ ...jb, end: this.buffers[i]!.end!.map((st) => st ?? null) })) });
      } catch {
        /* a full disk: the next daemon then takes the end from the buffers */
      }
    }
    return new Map(this.buffers.map((b) => [b.inst.name, b.end!]));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.markEnd();
    for (const b of this.buffers) for (const r of b.readers) r.close();
  }

  removeFiles(): void {
    if (this.discard) return;
    for (const b of this.buffers) for (const f of b.files) rmSync(f.source, { force: true });
    if (this.journal) removeSegmentJournal(this.workDir, this.journal.pid, this.journal.seq);
  }

  /**
   * Writes the captured pages as one trace.dat (the first buffer on top, the others as named
   * buffers) and removes the page files. Formats: every event on in a buffer now plus every event
   * id found in its pages, so an event turned off since it was recorded still has its format.
   * Returns the number of events in the file (less than `events` when a page file was cut short).
   */
  async write(path: string, opts: SegmentWriteOptions): Promise<number> {
    this.close();
    if (this.discard) throw new Error('a discarding segment has nothing to write');
    const events: TracepointName[] = [];
    let records = 0;
    for (const b of this.buffers) {
      const ids = new Set<number>();
      for (const f of b.files) records += scanPageFile(f.source, b.pageSize, ids);
      events.push(...tracepointsById(ids, b.inst.enabledTracepoints()));
    }
    const [main, ...rest] = this.buffers;
    if (!main) throw new Error('a segment without buffers');
    const meta: TraceMeta = opts.base
      ? { ...opts.base, eventFormats: eventFormatTexts(events), cmdlines: savedCmdlines(), pageSize: main.pageSize, clock: main.inst.clock }
      : collectLiveMeta(main.inst, events, main.pageSize);
    meta.cpuStats = windowStats(main);
    meta.instance = bufferNameOf(main.inst.name) ?? main.inst.name;
    const maskset = masksetIn(main.inst.name);
    if (maskset) meta.maskset = maskset;
    else delete meta.maskset;
    if (opts.kallsyms === false) meta.kallsyms = '';
    const offsets = this.sync?.needed ? this.sync.offsets(this.buffers, printEventId()) : [];
    const extras: ExtraBuffer[] = rest.map((b, i) => ({
      name: bufferNameOf(b.inst.name) ?? b.inst.name,
      clock: b.inst.clock,
      ...(offsets[i + 1] ? { clockOffset: offsets[i + 1] } : {}),
      pageSize: b.pageSize,
      cpus: b.files,
      cpuStats: windowStats(b),
    }));
    try {
      await opts.writer(path, meta, main.files, { buffers: extras });
      return records;
    } finally {
      this.removeFiles();
    }
  }
}

function savedCmdlines(): string {
  return tracefs().has('saved_cmdlines') ? tracefs().read('saved_cmdlines') : '';
}

function statsOf(inst: Instance): (CpuStats | undefined)[] {
  return inst.cpus().map((c) => {
    try {
      return inst.cpuStats(c);
    } catch {
      return undefined; // removed under us
    }
  });
}

/**
 * Each CPU's stats at the window's end, with its start counters (trace/loss.ts), so the file carries
 * what was lost in its own window. The end is the counters markEnd read, never a later read: the
 * next window starts at them, and a file written seconds after its rotation would otherwise count
 * the drops of those seconds in both files (seen: 4.7% over the kernel's total under load).
 */
function windowStats(b: SegmentBuffer): (string | undefined)[] {
  const end = b.end ?? statsOf(b.inst);
  const out: (string | undefined)[] = [];
  b.readers.forEach((r, i) => {
    const e = end[i];
    out[r.cpu] = e ? cpuStatsToText(e) : undefined;
  });
  const caps = b.readers.map((r) => r.stats);
  const start = b.start.map((s) => s as CpuStats);
  return stampStartCounters(out, caps, start, end.map((s) => s as CpuStats));
}
