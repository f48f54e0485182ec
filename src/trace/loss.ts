/**
 * Exact loss accounting, the one place every command takes its lost-event figures from.
 *
 * Kernel facts relied on (kernel/trace/ring_buffer.c): per_cpu/cpuN/stats "overrun" counts events
 * the writer overwrote, "dropped events" those it discarded when a stop-when-full buffer was full;
 * both only grow until the buffer is reset. A reader's page is flagged when events were overwritten
 * since the reader's previous page, with the count stored after the data when it fits. So a reader
 * attaching to a buffer that already wrapped is told, on its first page, of losses from before it
 * began; and overwrites after the last page read are in the counters but on no page.
 *
 * For a recording: lost = the counters' growth from its start to its end, per buffer and CPU;
 * "before this recording" = the counters at its start. Flagged pages place losses in time; their
 * counts, less the part from before the start, are what each place shows; what no page flagged is
 * placed after the CPU's last event. Without start counters (trace-cmd's files), lost = the counts
 * flagged in the pages, uncertain when a page flagged a loss without a count or the end counters
 * say more was lost than the pages do. A buffer written by lkst may carry losses of no known CPU
 * (the BPF engine's recursion-guard misses) in one CPU's CPUSTAT: counted once, as uncertain.
 */
import { parseCpuStats, type CpuStats } from '../tracefs/instance.js';
import type { CpuCounters, CpuLossCounters } from './model.js';
import { grouped } from '../base/grouped.js';

/** The loss figures of one CPU of one buffer. */
export interface CpuLoss {
  buffer: string;
  cpu: number;
  /** Events lost during the recording. */
  lost: number;
  /** Whether `lost` is exact; when not, `uncertain` says why. */
  exact: boolean;
  uncertain?: string;
  /** Events overwritten or dropped before the recording began (shown apart, never as lost). */
  before: number;
  /** Places in time where pages flagged a loss. */
  places: number;
}

/** A loss placed in time: events lost on a CPU of a buffer just before ts. */
export interface LossPlace {
  buffer: string;
  cpu: number;
  ts: number;
  /** -1: the kernel flagged a loss here without counting it. */
  count: number;
}

export function countersLost(c: CpuCounters): number {
  return c.overrun + c.dropped;
}

const LINE = {
  startOverrun: 'lkst overrun at start',
  startDropped: 'lkst dropped events at start',
  startCommitOverrun: 'lkst commit overrun at start',
  startEntries: 'lkst entries at start',
  beforeInPages: 'lkst lost before start in pages',
  inTransit: 'lkst lost in transit',
  cutShort: 'lkst recording cut short',
  unknownCpu: 'lkst lost, CPU not known',
} as const;

/** The loss counters of a CPU's stats. */
export function countersOf(s: CpuStats): CpuCounters {
  return { overrun: s.overrun, dropped: s.droppedEvents, commitOverrun: s.commitOverrun, entries: s.entries };
}

/** per_cpu/cpuN/stats text (or trace-cmd's CPUSTAT) to counters. */
export function parseCpuCounters(text: string): CpuCounters {
  return countersOf(parseCpuStats(text));
}

/** The counters a CPUSTAT text carries: the kernel's at the end, and lkst's start lines when present. */
export function lossCountersOfStats(text: string | undefined): CpuLossCounters {
  if (text === undefined) return {};
  const out: CpuLossCounters = { end: parseCpuCounters(text) };
  if (new RegExp(`^${LINE.startOverrun}:`, 'm').test(text)) {
    out.start = { overrun: statNum(text, LINE.startOverrun), dropped: statNum(text, LINE.startDropped), commitOverrun: statNum(text, LINE.startCommitOverrun), entries: statNum(text, LINE.startEntries) };
    out.beforeInPages = statNum(text, LINE.beforeInPages);
    out.inTransit = statNum(text, LINE.inTransit);
  }
  const unknown = new RegExp(`^${LINE.unknownCpu}: (\\d+) \\((.*)\\)$`, 'm').exec(text);
  if (unknown) out.unknownCpu = { count: Number(unknown[1]), why: unknown[2]! };
  const cut = new RegExp(`^${LINE.cutShort}: (.*)$`, 'm').exec(text);
  if (cut) {
    // The kernel's counters at the end were never read: only the pages speak after the start.
    delete out.end;
    out.cutShort = cut[1];
  }
  return out;
}

/** A CPUSTAT line for events a buffer lost on a CPU not known (put in one CPU's text; counted once, as uncertain). */
export function unknownCpuText(count: number, why: string): string {
  return `${LINE.unknownCpu}: ${count} (${why.replace(/[\s()]+/g, ' ').trim()})\n`;
}

/** The CPUSTAT text of a recording whose end counters are unknown (its recorder was killed and its buffer is gone). */
export function cutShortText(start: CpuCounters | undefined, reason: string): string {
  return cpuStatsText('', start, 0) + `${LINE.cutShort}: ${reason.replace(/\s+/g, ' ')}\n`;
}

/**
 * The CPUSTAT text lkst writes: the kernel's stats at the end, then the counters at the start as
 * extra lines (trace-cmd keeps CPUSTAT as opaque text and shows it with `report --stat`).
 */
export function cpuStatsText(endText: string, start: CpuCounters | undefined, beforeInPages: number, inTransit = 0): string {
  if (!start) return endText;
  const body = endText.endsWith('\n') || endText === '' ? endText : endText + '\n';
  return (
    body +
    `${LINE.startOverrun}: ${start.overrun}\n${LINE.startDropped}: ${start.dropped}\n${LINE.startCommitOverrun}: ${start.commitOverrun}\n` +
    `${LINE.startEntries}: ${start.entries}\n${LINE.beforeInPages}: ${beforeInPages}\n` +
    (inTransit ? `${LINE.inTransit}: ${inTransit}\n` : '')
  );
}

/**
 * How much of the counts a reader found flagged in its pages fell before its start: the flagged
 * total less what the counters say was lost during the recording (never negative).
 */
export function beforeInPages(flaggedCounts: number, start: CpuCounters | undefined, end: CpuCounters | undefined): number {
  if (!start || !end) return 0;
  return Math.max(0, flaggedCounts - (countersLost(end) - countersLost(start)));
}

function statNum(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Follows one pass over a trace's pages and settles each CPU's losses. place() is called for each
 * flagged page in time order and returns the count to show there (the part from before the
 * recording taken out); finish() gives the figures and the losses no page placed.
 */
export class LossLedger {
  private readonly cpus: LedgerCpu[];

  constructor(streams: readonly { buffer: string; cpu: number; counters: CpuLossCounters }[]) {
    this.cpus = streams.map((s) => ({ buffer: s.buffer, cpu: s.cpu, counters: s.counters, budget: s.counters.beforeInPages ?? 0, counted: 0, uncounted: 0, unreadable: 0, places: 0, lastTs: NaN }));
  }

  /** A flagged page of stream i; count -1 when the kernel stored none. Returns what to show (0: all of it was before the recording). */
  place(i: number, count: number): number {
    return this.split(i, count)[0];
  }

  /**
   * The same, split: [during the recording (-1: unknown), before it]. A flag without a count while
   * part of the pre-start losses is still unplaced is taken for that part (a dump's oldest page, an
   * attached reader's first page: the kernel had no room to store the count).
   */
  split(i: number, count: number): [number, number] {
    const c = this.cpus[i]!;
    c.places++;
    if (count < 0) {
      if (c.budget > 0) {
        const before = c.budget;
        c.budget = 0;
        return [0, before];
      }
      c.uncounted++;
      return [-1, 0];
    }
    const before = Math.min(count, c.budget);
    c.budget -= before;
    c.counted += count - before;
    return [count - before, before];
  }

  /** A page of stream i that could not be read (damaged): its events are unknown, so the figures become uncertain. */
  unreadable(i: number): void {
    this.cpus[i]!.unreadable++;
  }

  /** What the ledger has counted so far, per stream (to resume a pass from a checkpoint). */
  save(): LedgerCounts[] {
    return this.cpus.map((c) => ({ budget: c.budget, counted: c.counted, uncounted: c.uncounted, unreadable: c.unreadable, places: c.places, lastTs: Number.isNaN(c.lastTs) ? null : c.lastTs }));
  }

  load(saved: readonly LedgerCounts[]): void {
    saved.forEach((s, i) => Object.assign(this.cpus[i]!, s, { lastTs: s.lastTs ?? NaN }));
  }

  /** The last record seen of stream i (where unplaced losses are put). */
  seen(i: number, ts: number): void {
    this.cpus[i]!.lastTs = ts;
  }

  finish(): { cpus: CpuLoss[]; unplaced: LossPlace[] } {
    const cpus: CpuLoss[] = [];
    const unplaced: LossPlace[] = [];
    for (const c of this.cpus) {
      const r = settle(c);
      cpus.push(r);
      // What no page count placed (flags without a count, overwrites after the last page read): the
      // exact remainder, put at the CPU's last record, so the places always add up to the total.
      const rest = r.exact ? r.lost - c.counted : 0;
      if (rest > 0) unplaced.push({ buffer: c.buffer, cpu: c.cpu, ts: Number.isNaN(c.lastTs) ? 0 : c.lastTs, count: rest });
    }
    return { cpus, unplaced };
  }
}

/** A stream's counts part-way through a pass (lastTs null: none seen yet). */
export interface LedgerCounts {
  budget: number;
  counted: number;
  uncounted: number;
  unreadable: number;
  places: number;
  lastTs: number | null;
}

interface LedgerCpu {
  buffer: string;
  cpu: number;
  counters: CpuLossCounters;
  budget: number;
  counted: number;
  uncounted: number;
  unreadable: number;
  places: number;
  lastTs: number;
}

function settle(c: LedgerCpu): CpuLoss {
  const r = settleUnknownCpu(c, settleCounted(c));
  if (!c.unreadable) return r;
  const why = `${c.unreadable} damaged page(s) could not be read and were skipped; their events are lost to this reading and not counted`;
  return { ...r, exact: false, uncertain: r.uncertain ? `${r.uncertain}; ${why}` : why };
}

/** Adds a buffer's losses of no known CPU (kept with this CPU's counters) as uncertain: exact in number, not in place. */
function settleUnknownCpu(c: LedgerCpu, r: CpuLoss): CpuLoss {
  const u = c.counters.unknownCpu;
  if (!u?.count) return r;
  const why = `${grouped(u.count)} ${u.why}, CPU not known`;
  return { ...r, lost: r.lost + u.count, exact: false, uncertain: r.uncertain ? `${r.uncertain}; ${why}` : why };
}

function settleCounted(c: LedgerCpu): CpuLoss {
  const { start, end } = c.counters;
  const base = { buffer: c.buffer, cpu: c.cpu, places: c.places };
  if (c.counters.cutShort) {
    const before = c.counters.start ? countersLost(c.counters.start) : 0;
    return { ...base, lost: c.counted, exact: false, before, uncertain: `at least ${c.counted} lost: ${c.counters.cutShort}` };
  }
  if (start && end) return { ...base, lost: recordingLost(c.counters), exact: true, before: countersLost(start) };
  // No start counters: only the pages speak for the recording.
  const kernel = end ? countersLost(end) : 0;
  if (c.uncounted) {
    return { ...base, lost: c.counted, exact: false, before: 0, uncertain: `${c.uncounted} page(s) flagged a loss without a count; at least ${c.counted} lost${kernel > c.counted ? `, at most ${kernel} (the kernel's counter since the buffer was reset)` : ''}` };
  }
  if (kernel > c.counted) {
    return { ...base, lost: c.counted, exact: false, before: 0, uncertain: `the pages count ${c.counted} lost; the kernel counted ${kernel} since the buffer was reset, and the file does not say how many of those fell inside the recording` };
  }
  return { ...base, lost: c.counted, exact: true, before: 0 };
}

/** What a recording lost on one CPU when its start and end counters are known: their growth, and what never reached the file. */
export function recordingLost(c: CpuLossCounters): number {
  if (!c.start || !c.end) return 0;
  return Math.max(0, countersLost(c.end) - countersLost(c.start)) + (c.inTransit ?? 0);
}

/** Totals of a set of CPU figures (uncertain when any is). */
export function totalLoss(cpus: readonly CpuLoss[]): { lost: number; before: number; exact: boolean } {
  return { lost: cpus.reduce((n, c) => n + c.lost, 0), before: cpus.reduce((n, c) => n + c.before, 0), exact: cpus.every((c) => c.exact) };
}

/** The one wording of a loss total, the same in every command: "N lost" (+ "before this recording"). */
export function lossText(t: { lost: number; before: number; exact: boolean }): string {
  const n = (x: number) => grouped(x);
  const lost = t.exact ? `${n(t.lost)} lost` : `at least ${n(t.lost)} lost (uncertain)`;
  return t.before ? `${lost}; ${n(t.before)} overwritten before this recording` : lost;
}
