import type { Instance } from '../tracefs/instance.js';
import { tracefs } from '../tracefs/tracefs.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { LkstError } from '../base/errors.js';
import { pageSizeOf } from './segment.js';

/**
 * Room for what the writer adds around the metadata's texts: file header, section headers, the
 * options (buffer names, offsets, uname) and the string table. Measured here: under 2 KiB; raised
 * by what a written file shows (learn).
 */
const WRITER_SLACK = 16 * 1024;
/** A saved_cmdlines line: pid (up to 7 digits), a space, a comm of up to 15 bytes, a newline. */
const CMDLINE_BYTES = 24;
/** A per_cpu/cpuN/stats text, with room for its counters to grow. */
const CPU_STATS_BYTES = 512;

const bytes = (s: string | undefined): number => (s ? Buffer.byteLength(s) : 0);

/**
 * How many bytes of pages a file may hold so that the whole file (kallsyms, formats, command lines,
 * options, alignment) stays within a size: an upper bound of everything besides the pages, from
 * the texts that go in and the events the buffers record (each event that was on while a file was
 * being read has its format in it).
 */
export class FileBudget {
  private readonly fixed: number;
  private readonly kallsyms: number;
  private readonly formatBytes = new Map<string, number>();
  /** Events on at some point while the current file was read. */
  private seen = new Set<string>();
  private slack = WRITER_SLACK;

  constructor(
    private readonly buffers: readonly Instance[],
    base: TraceMeta,
    readonly maxBytes: number,
  ) {
    const texts = [base.headerPage, base.headerEvent, base.kallsyms, base.printk, base.uname, base.hostname, ...base.ftraceFormats];
    this.kallsyms = bytes(base.kallsyms);
    const cpus = buffers.reduce((s, b) => s + b.cpus().length, 0);
    // Each buffer's pages start on a page boundary.
    const align = buffers.reduce((s, b) => s + pageSizeOf(b), 0);
    this.fixed = texts.reduce((s, t) => s + bytes(t), 0) + cmdlinesBound() + cpus * CPU_STATS_BYTES + align;
    this.newFile();
  }

  /** Bytes of one page on every CPU of every buffer: what the next bounded drain takes at most per page per CPU. */
  get pageRow(): number {
    return this.buffers.reduce((s, b) => s + b.cpus().length * pageSizeOf(b), 0);
  }

  /** Everything in a file besides its pages, at most. */
  overhead(): number {
    this.noteEnabled();
    let formats = 0;
    for (const tp of this.seen) formats += this.formatSize(tp);
    return this.fixed + formats + this.slack;
  }

  /** How many pages per CPU the current file can still take, holding pageBytes already. */
  pagesPerCpu(pageBytes: number): number {
    return Math.max(0, Math.floor((this.maxBytes - this.overhead() - pageBytes) / this.pageRow));
  }

  /** A new file begins: its formats are those of the events on from now. */
  newFile(): void {
    this.seen = new Set();
    this.noteEnabled();
  }

  /** A file was written: if the writer added more than allowed for, allow for it from now on. */
  learn(fileBytes: number, pageBytes: number, overheadAllowed: number): void {
    const over = fileBytes - pageBytes - overheadAllowed;
    if (over > 0) this.slack += over;
  }

  /** Refuses a size that leaves no room for a page per CPU next to the metadata. */
  check(what: string): void {
    if (this.pagesPerCpu(0) >= 1) return;
    const need = this.overhead() + this.pageRow;
    throw new LkstError(
      `${what} (${mib(this.maxBytes)}) is smaller than a file's metadata and one page per CPU (${mib(need)}, kallsyms ${mib(this.kallsyms)})`,
      `give at least ${Math.ceil((need / 1048576) * 100) / 100} MiB, or leave kallsyms out with --no-kallsyms`,
    );
  }

  private noteEnabled(): void {
    for (const b of this.buffers) {
      try {
        for (const t of b.enabledTracepoints()) this.seen.add(`${t.system}/${t.event}`);
      } catch {
        /* a buffer removed under us: the daemon reports it */
      }
    }
  }

  private formatSize(tp: string): number {
    let n = this.formatBytes.get(tp);
    if (n === undefined) {
      try {
        n = bytes(tracefs().read(`events/${tp}/format`));
      } catch {
        n = 0;
      }
      this.formatBytes.set(tp, n);
    }
    return n;
  }
}

/** saved_cmdlines holds at most saved_cmdlines_size entries. */
function cmdlinesBound(): number {
  const top = tracefs();
  const size = top.has('saved_cmdlines_size') ? Number(top.read('saved_cmdlines_size').trim()) : NaN;
  return (Number.isFinite(size) ? size : 8192) * CMDLINE_BYTES;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(2)} MiB`;
}
