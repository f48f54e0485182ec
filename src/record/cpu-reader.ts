import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { LkstError, errnoCode } from '../base/errors.js';
import { tracefsAccessError } from '../tracefs/errors.js';
import { PAGE_HEADER_SIZE, forEachRecord } from '../ringbuf/page.js';

/** Counters of one CPU's capture. */
export interface CpuCapture {
  cpu: number;
  pages: number;
  bytes: number;
  events: number;
  /** Events the kernel reported lost in page headers (stored counts; a flag alone counts as unknown). */
  lostInPages: number;
  /** Pages flagged as following lost events whose count the kernel did not store. */
  lossFlagsWithoutCount: number;
  /** Events the kernel handed out that never reached the file (a page mover killed with pages in hand). */
  lostInTransit?: number;
}

const BATCH_PAGES = 64;

/** Takes pages a reader read, instead of a file (a live consumer); the buffer is its own. */
export type PageSink = (pages: Buffer) => void;

export function emptyCapture(cpu: number): CpuCapture {
  return { cpu, pages: 0, bytes: 0, events: 0, lostInPages: 0, lossFlagsWithoutCount: 0 };
}

/** Counts one page's events and losses into stats; returns its data length. */
export function accountPage(stats: CpuCapture, buf: Buffer, pageOff: number, pageSize: number): number {
  let events = 0;
  const head = forEachRecord(buf, pageOff, pageSize, () => events++);
  stats.pages++;
  stats.bytes += head.dataLen;
  stats.events += events;
  if (head.missedEvents) {
    if (head.missedCount >= 0) stats.lostInPages += head.missedCount;
    else stats.lossFlagsWithoutCount++;
  }
  return head.dataLen;
}

/** The events, pages and flagged losses in a per-CPU page file, as it is now. */
export function countPageFile(cpu: number, path: string, pageSize: number): CpuCapture {
  const c = new PageFileCounter(cpu, path, pageSize);
  c.update();
  return c.stats;
}

/** Counts the pages another writer (the pump) appends to a per-CPU file, reading only what is new. */
export class PageFileCounter {
  readonly stats: CpuCapture;
  private offset = 0;
  private readonly buf: Buffer;

  constructor(cpu: number, private readonly path: string, private readonly pageSize: number) {
    this.stats = emptyCapture(cpu);
    this.buf = Buffer.allocUnsafe(pageSize * BATCH_PAGES);
  }

  update(): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return; // not created yet
    }
    try {
      for (;;) {
        const n = readSync(fd, this.buf, 0, this.buf.length, this.offset);
        const pages = Math.floor(n / this.pageSize);
        for (let i = 0; i < pages; i++) accountPage(this.stats, this.buf, i * this.pageSize, this.pageSize);
        this.offset += pages * this.pageSize;
        if (n < this.buf.length) return;
      }
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Drains one CPU's trace_pipe_raw with non-blocking reads into an output file. Non-blocking matters:
 * a blocking reader is woken by every event and floods the trace with its own context switches.
 */
export class CpuReader {
  readonly stats: CpuCapture;
  private readonly fd: number;
  private readonly outFd: number | undefined;
  private readonly sink: PageSink | undefined;
  private readonly batch: Buffer;
  private readonly statsPath: string;
  private statsFd: number | undefined | null;
  private readonly statsBuf = Buffer.allocUnsafe(512);
  private closed = false;

  /** out: a file of pages, or a sink; append: continue a file another writer started (the pump, when it failed). */
  constructor(readonly cpu: number, pipePath: string, readonly pageSize: number, out: string | PageSink, append = false) {
    this.stats = emptyCapture(cpu);
    try {
      this.fd = openSync(pipePath, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw tracefsAccessError(pipePath, err, 'open');
    }
    if (typeof out === 'function') this.sink = out;
    else
      try {
        this.outFd = openSync(out, append ? 'a' : 'w');
      } catch (err) {
        closeSync(this.fd);
        throw new LkstError(`cannot write ${out} (${errnoCode(err) ?? err})`, 'choose an output directory you can write to with free space');
      }
    this.batch = Buffer.allocUnsafe(pageSize * BATCH_PAGES);
    this.statsPath = pipePath.replace(/trace_pipe_raw$/, 'stats');
  }

  /**
   * Bytes the kernel holds unread for this CPU (per_cpu/cpuN/stats), or -1 when unknown. Cheaper
   * than a read that finds nothing, so a recorder can look often and read only whole pages.
   */
  unreadBytes(): number {
    if (this.closed) return 0;
    if (this.statsFd === undefined) {
      try {
        this.statsFd = openSync(this.statsPath, 'r');
      } catch {
        this.statsFd = null;
      }
    }
    if (this.statsFd === null) return -1;
    try {
      const n = readSync(this.statsFd, this.statsBuf, 0, this.statsBuf.length, 0);
      const m = /\nbytes: (\d+)/.exec(this.statsBuf.toString('latin1', 0, n));
      return m ? Number(m[1]) : -1;
    } catch {
      return -1;
    }
  }

  /**
   * Reads every page the kernel has ready now; returns how many pages were read. With
   * stopAtPartialPage (periodic drains while the kernel records), it stops after a page that is far
   * from full: that was the page the kernel is writing, and reading on would chase the writer,
   * taking a few events per read and a whole page of output each. The first page of a drain is
   * exempt: it is often the rest of the page the previous drain stopped in.
   */
  drain(maxPages = Infinity, opts: { stopAtPartialPage?: boolean } = {}): number {
    if (this.closed) return 0;
    const partial = opts.stopAtPartialPage ? ((this.pageSize - PAGE_HEADER_SIZE) * 3) / 4 : -1;
    let total = 0;
    for (;;) {
      let filled = 0;
      let again = false;
      while (filled < BATCH_PAGES && total + filled < maxPages) {
        let n: number;
        try {
          n = readSync(this.fd, this.batch, filled * this.pageSize, this.pageSize, null);
        } catch (err) {
          if (errnoCode(err) === 'EAGAIN') {
            again = true;
            break;
          }
          throw tracefsAccessError(`per_cpu/cpu${this.cpu}/trace_pipe_raw`, err, 'read');
        }
        if (n === 0) {
          again = true;
          break;
        }
        if (n < this.pageSize) this.batch.fill(0, filled * this.pageSize + n, (filled + 1) * this.pageSize);
        const dataLen = accountPage(this.stats, this.batch, filled * this.pageSize, this.pageSize);
        filled++;
        if (dataLen < partial && total + filled > 1) {
          again = true;
          break;
        }
      }
      if (filled) this.writeOut(filled);
      total += filled;
      if (again || total >= maxPages) return total;
    }
  }

  private writeOut(pages: number): void {
    const len = pages * this.pageSize;
    if (this.sink) {
      this.sink(Buffer.from(this.batch.subarray(0, len)));
      return;
    }
    let off = 0;
    try {
      while (off < len) off += writeSync(this.outFd!, this.batch, off, len - off);
    } catch (err) {
      throw new LkstError(`cannot write the CPU ${this.cpu} data (${errnoCode(err) ?? err})`, 'free disk space or record to another directory; what was written so far is kept');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (typeof this.statsFd === 'number') closeSync(this.statsFd);
    closeSync(this.fd);
    if (this.outFd !== undefined) closeSync(this.outFd);
  }
}
