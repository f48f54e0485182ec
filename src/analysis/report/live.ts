/**
 * `lkst stream`: the pages of a recording in progress printed as report prints a file (the same
 * printer), merged across CPUs in time order as they arrive.
 *
 * Ordering: the recorder reads every CPU up to the present in rounds; a record stamped at or before
 * the latest time seen in an earlier round was written before this round began, so it has been
 * read. Each round prints exactly those records; later ones wait for the next round, which comes at
 * the recorder's next look (an event shows at most about one --poll interval after it happened). Records that still come after their
 * turn (a CPU read cut short by a page left far from full by very large events, or clocks that
 * differ across CPUs: `--clock global` is strict) are printed when read and counted as late.
 */
import type { CpuStats } from '../../tracefs/instance.js';
import { CommTable, type RenderContext } from '../../events/printfmt/context.js';
import { KernelSymbols } from '../../events/kallsyms.js';
import { parseCmdlines } from '../../events/cmdlines.js';
import { LiveMerge } from '../../ringbuf/merge.js';
import { buildRegistry } from '../../file/reader.js';
import { parsePrintkFormats } from '../../file/symbols.js';
import { countersLost, countersOf, type CpuLoss, type LossLedger, type LossPlace } from '../../trace/loss.js';
import type { CpuLossCounters } from '../../trace/model.js';
import type { LivePages, LiveStart } from '../../record/live-pages.js';
import { ledgerOf, plainInputInfo, recordPrinter, renderContextOf, reportHeader, type RecordPrinter } from './report.js';
import { PacedOutput } from './live-sink.js';

/** Text waiting for a slow reader beyond which pages are left in the kernel (which counts what it overwrites). */
const BACKLOG_BYTES = 4 << 20;

export interface LiveReportOptions {
  json?: boolean;
  syscallNames?: boolean;
  /** Descriptor to write to (stdout: 1). */
  fd: number;
  /** The reader went away (EPIPE) or writing failed: end the recording. */
  onClosed: () => void;
}

export interface LiveSummary {
  printed: number;
  /** Per CPU, settled by the loss ledger from the kernel's counters; unplaced: what no inline mark counted. */
  loss: { cpus: CpuLoss[]; unplaced: LossPlace[] };
  /** Records printed after a later-stamped one (see the ordering note above). */
  late: number;
  warnings: string[];
  /** The reader went away before the end. */
  closed: boolean;
  /** Why writing failed, when it was not the reader leaving. */
  error?: unknown;
}

/**
 * Task names from saved_cmdlines, looked up again (at most once a round) for a pid whose name was
 * not read since the stream began: a pid known at the start may have been reused by a new process
 * (seen: the traced command shown under the name of an earlier `grep` with its pid).
 */
class LiveComms extends CommTable {
  private reloaded = false;
  private readonly fresh = new Set<number>();

  constructor(private readonly reload: () => string) {
    super();
    this.add(reload());
  }

  override get(pid: number): string {
    if (!this.fresh.has(pid) && !this.reloaded) {
      this.reloaded = true;
      for (const p of this.add(this.reload())) this.fresh.add(p);
    }
    return super.get(pid);
  }

  round(): void {
    this.reloaded = false;
  }

  private add(text: string): number[] {
    const pids: number[] = [];
    for (const [pid, comm] of parseCmdlines(text)) {
      this.replace(pid, comm);
      pids.push(pid);
    }
    return pids;
  }
}

export class LiveReport implements LivePages {
  private readonly out: PacedOutput;
  private merge: LiveMerge | undefined;
  private printer: RecordPrinter | undefined;
  private ledger: LossLedger | undefined;
  private comms: LiveComms | undefined;
  private counters: CpuLossCounters[] = [];
  private inputOf = new Map<number, number>();
  /** Records up to this time are complete (the latest time seen before the last round). */
  private bound = -Infinity;
  /** Records up to this time are printed. */
  private printedTo = -Infinity;
  private readonly summary: LiveSummary = { printed: 0, loss: { cpus: [], unplaced: [] }, late: 0, warnings: [], closed: false };

  constructor(private readonly opts: LiveReportOptions) {
    this.out = new PacedOutput(opts.fd, BACKLOG_BYTES, opts.onClosed);
  }

  start(info: LiveStart): void {
    const { meta } = info;
    const registry = buildRegistry(meta.ftraceFormats, meta.eventFormats, this.summary.warnings);
    let symbols: KernelSymbols | undefined;
    let printk: Map<bigint, string> | undefined;
    const ctx: RenderContext = renderContextOf({
      cmdlines: new Map(),
      get kallsyms() {
        return (symbols ??= new KernelSymbols(meta.kallsyms));
      },
      get printkFormats() {
        return (printk ??= parsePrintkFormats(meta.printk));
      },
    });
    this.comms = ctx.comms = new LiveComms(info.cmdlines);
    // A fresh buffer lost nothing before; an attached one may flag what it lost before we came on the first page.
    this.counters = info.start.map((s) => ({ start: countersOf(s), beforeInPages: countersLost(countersOf(s)) }));
    const infos = info.cpus.map((cpu, i) => plainInputInfo(cpu, meta.clock, this.counters[i]!));
    info.cpus.forEach((cpu, i) => this.inputOf.set(cpu, i));
    this.ledger = ledgerOf(infos);
    const visit = (this.printer = recordPrinter(registry, ctx, { json: this.opts.json, syscallNames: this.opts.syscallNames }, infos, undefined, this.out.w, this.ledger, this.summary));
    this.merge = new LiveMerge(infos.length, meta.pageSize, visit, {
      onCorruptPage: (input, page, message) => {
        if (this.summary.warnings.length < 100) this.summary.warnings.push(`CPU ${infos[input]!.cpu}: page ${page} skipped: ${message}`);
      },
    });
    if (!this.opts.json) this.out.w.str(reportHeader(meta.cpuCount));
    this.out.flush();
  }

  ready(): boolean {
    return this.out.ready();
  }

  holding(): boolean {
    return !!this.merge && this.merge.latest > this.printedTo;
  }

  pages(cpu: number, chunk: Buffer): void {
    if (this.out.closed) return;
    this.merge!.push(this.inputOf.get(cpu)!, chunk);
  }

  round(): void {
    if (this.out.closed || !this.merge) return;
    this.comms!.round();
    this.merge.emit(this.bound);
    this.printedTo = this.bound;
    this.bound = this.merge.latest;
    this.out.flush();
  }

  /**
   * Prints what is left (call once the recorder has read the last pages) and settles the losses
   * with the kernel's counters at the end; resolves once the reader has it all.
   */
  async finish(end: readonly CpuStats[]): Promise<LiveSummary> {
    if (this.merge && !this.out.closed) {
      this.merge.emit(Infinity);
      this.printer?.flush();
    }
    await this.out.drained();
    this.counters.forEach((c, i) => {
      if (end[i]) c.end = countersOf(end[i]!);
    });
    if (this.ledger) this.summary.loss = this.ledger.finish();
    this.summary.late = this.merge?.late ?? 0;
    this.summary.closed = this.out.closed;
    this.summary.error = this.out.error;
    return this.summary;
  }
}
