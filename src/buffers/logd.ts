import { existsSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { FileBudget } from './file-budget.js';
import { join, resolve } from 'node:path';
import type { Instance } from '../tracefs/instance.js';
import type { TraceWriter } from '../trace/writer-port.js';
import { LkstError, errnoCode } from '../base/errors.js';
import { Segment, pageSizeOf, type SegmentCounters } from './segment.js';
import { recoverSegments, removeRunJournal, writeRunJournal } from './segment-journal.js';
import { collectLiveMeta } from '../record/live-meta.js';
import type { TraceMeta } from '../ringbuf/meta.js';

export interface LogdOptions {
  /** Buffers streamed into every file (the first on top, the others as named buffers). */
  buffers: readonly Instance[];
  /** Writes each file (file/writer.ts's writeTraceDat). */
  writer: TraceWriter;
  dir: string;
  /** No file grows beyond this many bytes, metadata (kallsyms) included: a new file starts before. */
  maxBytes?: number;
  /** Start a new file after this many seconds. */
  maxAgeSec?: number;
  /** Keep at most this many files; the oldest go first. */
  maxFiles?: number;
  pollMs?: number;
  /** Put /proc/kallsyms in every file (several MB each). */
  kallsyms?: boolean;
  /** While the disk is full, how often to look for room again. */
  resumeCheckMs?: number;
  /** File names are PREFIX-YYYYMMDD-HHMMSS-N.dat. */
  prefix?: string;
  onMessage?: (line: string) => void;
  /** Called when reading fails for a reason other than the disk (e.g. a buffer was deleted); the daemon has stopped reading. */
  onFatal?: (err: Error) => void;
  /** Called after each file is written. */
  onFile?: (path: string, events: number) => void;
}

export interface LogdStats {
  /** Files kept now, oldest first. */
  files: string[];
  filesWritten: number;
  eventsSaved: number;
  /** Events read from the kernel that could not be saved (disk full). */
  eventsUnsaved: number;
  /** Events the kernel reported lost in the pages it handed out (buffer overrun). */
  eventsLostByKernel: number;
  diskFull: boolean;
}

const DEFAULT_POLL_MS = 100;
const RESUME_CHECK_MS = 2000;
/** Room kept for the metadata of a file besides kallsyms (formats, cmdlines, printk, options). */
const META_ROOM = 512 * 1024;

/**
 * lkst's lkstlogd: drains buffers into a rotating set of complete trace.dat files. Pages go to
 * per-CPU page files first (a trace.dat holds each CPU's pages in one run), so writing a file needs
 * as much room again: the daemon rotates early while there is room, and when there is none it stops
 * writing, keeps reading (so it can count) and resumes when space comes back.
 */
export class LogDaemon {
  readonly dir: string;
  private seg: Segment | undefined;
  private segStarted = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lastResumeCheck = 0;
  private lossAtStart = 0;
  private failed: Error | undefined;
  /** Room the files being written will take. */
  private pendingBytes = 0;
  private readonly base: TraceMeta;
  /** Files being written while reading goes on into the next segment. */
  private readonly writing = new Set<Promise<unknown>>();
  private fileSeq = 0;
  private readonly reserve: number;
  private readonly metaRoom: number;
  private readonly budget: FileBudget | undefined;
  /** Counters a recovered window ended at (recoverLeftovers): the first window starts there. */
  private firstStart: SegmentCounters | undefined;
  private readonly st: LogdStats = { files: [], filesWritten: 0, eventsSaved: 0, eventsUnsaved: 0, eventsLostByKernel: 0, diskFull: false };

  constructor(private readonly opts: LogdOptions) {
    if (!opts.buffers.length) throw new LkstError('no buffer to log', 'name one or more buffers with -b NAME');
    this.dir = resolve(opts.dir);
    try {
      if (!statSync(this.dir).isDirectory()) throw new Error('ENOTDIR');
    } catch {
      throw new LkstError(`${this.dir} is not a directory`, 'create it first or choose another with -d');
    }
    // One poll can bring up to a buffer-full (and a page per CPU); keep room for that on top of the copy.
    this.reserve = opts.buffers.reduce((s, b) => s + b.cpus().length * (b.bufferSizeKb + (b.subbufSizeKb ?? 4)) * 1024, 0);
    this.base = baseMeta(opts.buffers[0]!, opts.kallsyms !== false);
    this.metaRoom = META_ROOM + this.base.kallsyms.length;
    if (opts.maxBytes) {
      this.budget = new FileBudget(opts.buffers, this.base, opts.maxBytes);
      this.budget.check('--max-size');
    }
    this.st.files = this.existingFiles();
  }

  get stats(): LogdStats {
    const pendingUnsaved = this.seg?.discard ? this.seg.events : 0;
    return { ...this.st, files: [...this.st.files], eventsUnsaved: this.st.eventsUnsaved + pendingUnsaved, eventsLostByKernel: Math.max(this.st.eventsLostByKernel, this.kernelLoss()) };
  }

  /** Overrun + dropped events the kernel counted in the buffers since start. */
  private kernelLoss(): number {
    return this.lossNow() - this.lossAtStart;
  }

  private lossNow(): number {
    let n = 0;
    for (const b of this.opts.buffers) {
      for (const c of b.cpus()) {
        try {
          const k = b.cpuStats(c);
          n += k.overrun + k.droppedEvents;
        } catch {
          /* buffer removed under us: nothing more to count */
        }
      }
    }
    return n;
  }

  /**
   * Writes the files a killed daemon left unwritten in the directory (segment-journal.ts); returns
   * what it did, one line each. Call before start(): the first window then begins where theirs ended.
   */
  async recoverLeftovers(): Promise<string[]> {
    const r = await recoverSegments(this.dir, { writer: this.opts.writer, kallsyms: this.opts.kallsyms !== false, nameFor: (d) => this.freeName(d) });
    if (r.startAt.size) this.firstStart = r.startAt;
    this.st.files = this.existingFiles();
    this.prune();
    return r.lines;
  }

  start(): void {
    if (this.timer) return;
    this.lossAtStart = this.lossNow();
    writeRunJournal(this.dir, this.opts.buffers, pageSizeOf);
    this.seg = this.openSegment(false, this.firstStart);
    this.timer = setInterval(() => this.tick(), this.opts.pollMs ?? DEFAULT_POLL_MS);
  }

  /** Closes the current file and starts the next; resolves with the file written, if any. */
  async rotate(): Promise<string | undefined> {
    // The swap is serialised with the polls; the write is not (wrapped, so the chain does not wait for it).
    const { written } = await this.serial(async () => ({ written: this.rotateNow(true) }));
    return written;
  }

  /** Drains what is left, writes the last file and stops. */
  async stop(): Promise<LogdStats> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.serial(() => {
        this.drainIntoFiles();
        return this.rotateNow(false);
      });
    } catch (err) {
      // The last drain failed: what was read before is still written.
      this.fail(err);
      const last = this.seg;
      this.seg = undefined;
      if (last && !last.discard) await this.finish(last).catch(() => undefined);
    }
    while (this.writing.size) await Promise.all([...this.writing]);
    this.st.eventsLostByKernel = Math.max(this.st.eventsLostByKernel, this.kernelLoss());
    removeRunJournal(this.dir);
    return this.stats;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private say(line: string): void {
    this.opts.onMessage?.(line);
  }

  private openSegment(discard: boolean, startAt?: SegmentCounters): Segment {
    this.segStarted = Date.now();
    if (!discard) this.budget?.newFile();
    return new Segment(this.opts.buffers, this.dir, discard, startAt, true);
  }

  private freeBytes(): number {
    try {
      const s = statfsSync(this.dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return Infinity;
    }
  }

  private tick(): void {
    this.serial(() => this.tickNow()).catch((err: unknown) => this.fail(err));
  }

  /** A fault that is not the disk: stop reading, keep what was read, and tell the owner. */
  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = err instanceof Error ? err : new Error(String(err));
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.say(`lkst logd: ${this.failed.message}; stopping`);
    this.opts.onFatal?.(this.failed);
  }

  private async tickNow(): Promise<void> {
    if (!this.seg) return;
    if (this.st.diskFull) {
      this.drainSafely();
      const now = Date.now();
      if (now - this.lastResumeCheck >= (this.opts.resumeCheckMs ?? RESUME_CHECK_MS)) {
        this.lastResumeCheck = now;
        if (this.freeBytes() >= this.resumeAt()) await this.resume();
      }
      return;
    }
    // Rotate while the copy still fits; stop writing when not even a new file would.
    const room = this.freeBytes() - this.pendingBytes;
    if (room < this.seg.bytes + this.metaRoom + this.reserve) {
      const need = this.seg.bytes + this.metaRoom;
      void this.rotateNow(true);
      if (room - need < this.needForNew()) this.enterDiskFull(`${this.dir} is nearly full (${mib(Math.max(0, room))} free)`);
      return;
    }
    this.drainSafely();
    const age = (Date.now() - this.segStarted) / 1000;
    if (this.full() || (this.opts.maxAgeSec && age >= this.opts.maxAgeSec)) {
      void this.rotateNow(true);
      this.drainSafely();
    }
  }

  /** The current file cannot take another page per CPU within the size limit. */
  private full(): boolean {
    return !!this.budget && !!this.seg && !this.seg.discard && this.budget.pagesPerCpu(this.seg.bytes) < 1;
  }

  /** Reads what the buffers hold now, starting new files as the size limit asks (the last one stays open). */
  private drainIntoFiles(): void {
    if (!this.budget) return;
    // Each round reads at least a page; a buffer-full is all there is to read unless the kernel keeps recording.
    const bufferBytes = this.opts.buffers.reduce((s, b) => s + b.cpus().length * b.bufferSizeKb * 1024, 0);
    for (let round = Math.ceil(bufferBytes / this.budget.pageRow) + 2; round > 0 && this.seg; round--) {
      if (this.full()) void this.rotateNow(true);
      const before = this.seg.bytes;
      this.drainSafely();
      if (!this.seg || this.seg.bytes === before) return;
    }
  }

  private needForNew(): number {
    return this.metaRoom + 2 * this.reserve;
  }

  /** A poll's worth above the minimum, so the daemon does not flip between writing and not at the edge. */
  private resumeAt(): number {
    return this.needForNew() + this.reserve;
  }

  /** Drains the current segment; a write error (disk full) ends writing for now. */
  private drainSafely(): void {
    if (!this.seg) return;
    try {
      this.seg.drain(this.budget && !this.seg.discard ? this.budget.pagesPerCpu(this.seg.bytes) : undefined);
    } catch (err) {
      // Only a failed write of the page files (disk full, I/O error) stops writing; a buffer that
      // cannot be read any more (deleted under us) ends the daemon.
      if (!(err instanceof LkstError) || !/^cannot write/.test(err.message)) throw err;
      this.enterDiskFull(err.message);
    }
  }

  private enterDiskFull(why: string): void {
    if (this.st.diskFull) return;
    this.st.diskFull = true;
    this.say(`lkst logd: stopped writing: ${why}; still reading the buffers and counting what cannot be saved; writing resumes when ${this.dir} has ${mib(this.resumeAt())} free`);
    const old = this.seg;
    this.seg = this.openSegment(true);
    if (old) {
      const p = this.finish(old);
      this.writing.add(p);
      void p.finally(() => this.writing.delete(p)).catch(() => undefined);
    }
  }

  private async resume(): Promise<void> {
    const discarded = this.seg;
    this.seg = this.openSegment(false);
    if (discarded) this.countDiscarded(discarded);
    this.st.diskFull = false;
    this.say(`lkst logd: ${this.dir} has room again: writing resumed (${this.st.eventsUnsaved} events could not be saved so far)`);
  }

  private countDiscarded(seg: Segment): void {
    seg.close();
    this.st.eventsUnsaved += seg.events;
    this.countKernelLoss(seg);
  }

  private countKernelLoss(seg: Segment): void {
    for (const b of seg.captures()) for (const c of b.cpus) this.st.eventsLostByKernel += c.lostInPages;
  }

  /**
   * Swaps in a new segment and writes the old one as a file. Reading goes on during the write (the
   * write is not part of the serial chain), so a long copy does not let the kernel buffers fill.
   */
  private rotateNow(reopen: boolean): Promise<string | undefined> {
    // The end's sync markers go in with this drain when the file has room (else the offset is the start's alone).
    this.seg?.syncClocks('end');
    this.drainSafely();
    const old = this.seg;
    const allowed = this.budget?.overhead();
    this.seg = reopen ? this.openSegment(this.st.diskFull, old?.markEnd()) : undefined;
    if (!old) return Promise.resolve(undefined);
    if (old.discard) {
      this.countDiscarded(old);
      return Promise.resolve(undefined);
    }
    const p = this.finish(old, allowed);
    this.writing.add(p);
    void p.finally(() => this.writing.delete(p)).catch(() => undefined);
    return p;
  }

  /** Writes a segment as the next file; what cannot be written is counted as unsaved. */
  private async finish(seg: Segment, overheadAllowed?: number): Promise<string | undefined> {
    seg.close();
    this.countKernelLoss(seg);
    const events = seg.events;
    if (events === 0) {
      seg.removeFiles();
      return undefined;
    }
    const path = join(this.dir, this.nextName());
    const need = seg.bytes + this.metaRoom;
    this.pendingBytes += need;
    try {
      const saved = await seg.write(path, { base: this.base, writer: this.opts.writer });
      this.st.eventsSaved += saved;
      this.st.eventsUnsaved += events - saved;
      this.st.filesWritten++;
      if (this.budget && overheadAllowed !== undefined) this.budget.learn(statSync(path).size, seg.bytes, overheadAllowed);
      this.st.files.push(path);
      this.prune();
      this.opts.onFile?.(path, saved);
      return path;
    } catch (err) {
      if (!(err instanceof LkstError) && errnoCode(err) !== 'ENOSPC') throw err;
      this.st.eventsUnsaved += events;
      this.enterDiskFull((err as Error).message);
      return undefined;
    } finally {
      this.pendingBytes -= need;
    }
  }

  private nextName(): string {
    return this.freeName(new Date());
  }

  /** A file name of that second no file has (another run in the same second, a recovered segment). */
  private freeName(d: Date): string {
    for (;;) {
      const name = `${this.prefix}-${stamp(d)}-${String(++this.fileSeq).padStart(4, '0')}.dat`;
      if (!existsSync(join(this.dir, name))) return name;
    }
  }

  private get prefix(): string {
    return this.opts.prefix ?? 'lkst';
  }

  private existingFiles(): string[] {
    const re = new RegExp(`^${this.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}-\\d{6}-\\d{4}\\.dat$`);
    return readdirSync(this.dir)
      .filter((f) => re.test(f))
      .sort()
      .map((f) => join(this.dir, f));
  }

  private prune(): void {
    const max = this.opts.maxFiles;
    if (!max) return;
    while (this.st.files.length > max) rmSync(this.st.files.shift()!, { force: true });
  }
}

/** What stays the same from file to file, read once (kallsyms alone is several MB). */
function baseMeta(inst: Instance, kallsyms: boolean): TraceMeta {
  const meta = collectLiveMeta(inst, [], pageSizeOf(inst));
  if (!kallsyms) meta.kallsyms = '';
  return meta;
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
