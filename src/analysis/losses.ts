/**
 * Where a trace lost events: per CPU, the gap between the last record before a loss and the first
 * after it. Analyses that follow an object or a task across events ask whether a time span holds
 * a loss on any CPU (a free on one CPU may concern an object used on another) and say so in words.
 * Times are on the first buffer's clock (stream.ts): a loss in a buffer whose offset to it was
 * measured is placed within that offset's uncertainty; one in a buffer whose clock is not
 * comparable cannot be placed at all, so it touches every span, with the reason.
 */
import { forEachLoss, type PassLoss } from './stream.js';
import type { TraceInput } from './input.js';
import { fmtTs } from './time.js';
import { grouped } from '../base/grouped.js';

export interface Loss {
  cpu: number;
  /** The buffer whose CPU lost them ("" for the top-level buffer). */
  buffer: string;
  /** Time of the CPU's last record before the loss; -1 when none (lost before its first record). */
  from: number;
  /** Time of the first record after the loss; Infinity when the trace does not say where it was. */
  to: number;
  /** Events lost; -1 when the kernel flagged the loss without counting it. */
  count: number;
  /** Why it cannot be placed against the first buffer's times (its buffer's clock is not comparable). */
  unplaceable?: string;
  /** How far its times may be off on the first buffer's clock (the uncertainty of its buffer's offset). */
  slackNs?: number;
}

export class LossLog {
  private readonly list: Loss[] = [];
  /** Per buffer and CPU, the time of its last record so far (another buffer's records on the CPU do not close a gap). */
  private readonly last = new Map<string, number[]>();
  /** The same losses sorted by `from`, with the running maximum of `to`, for overlap tests. */
  private byFrom: Loss[] = [];
  private maxTo: number[] = [];
  /** Losses of buffers whose clock is not comparable: in every span. */
  private loose: Loss[] = [];
  private sealed = true;

  get all(): readonly Loss[] {
    return this.list;
  }

  get any(): boolean {
    return this.list.length > 0;
  }

  /** Call for every record, in stream order, so a loss knows where its gap began. */
  seen(cpu: number, ts: number, buffer = ''): void {
    if (buffer !== this.lastBuffer) this.switchBuffer(buffer);
    this.lastTimes[cpu] = ts;
  }

  /** The stream's lost(cpu, ts, count, buffer) callback (and lostBefore's). */
  lost(cpu: number, ts: number, count: number, buffer = ''): void {
    if (buffer !== this.lastBuffer) this.switchBuffer(buffer);
    this.add({ cpu, buffer, from: this.lastTimes[cpu] ?? -1, to: ts, count });
  }

  /** Records come in runs of one buffer: its per-CPU times are looked up once per run. */
  private lastBuffer: string | undefined;
  private lastTimes: number[] = [];

  private switchBuffer(buffer: string): void {
    let times = this.last.get(buffer);
    if (!times) this.last.set(buffer, (times = []));
    this.lastBuffer = buffer;
    this.lastTimes = times;
  }

  private add(l: Loss): void {
    this.list.push(l);
    this.sealed = false;
  }

  /**
   * Takes the losses the ledger placed after no page (trace/loss.ts: flags without a count,
   * overwrites after a CPU's last page): a CPU's one uncounted mark gets the count; otherwise the
   * loss lies after the CPU's last record, at a time the trace does not mark. Then marks the losses
   * of buffers on other clocks (see the top). Call once, after the stream.
   */
  settle(loss: PassLoss): void {
    for (const u of loss.unplaced) {
      const uncounted = this.list.filter((l) => l.cpu === u.cpu && l.buffer === u.buffer && l.count < 0);
      if (uncounted.length === 1) uncounted[0]!.count = u.count;
      else if (!uncounted.length) this.add({ cpu: u.cpu, buffer: u.buffer, from: u.ts, to: Infinity, count: u.count });
    }
    const clocks = new Map((loss.clocks ?? []).map((a) => [a.buffer, a]));
    for (const l of this.list) {
      const a = clocks.get(l.buffer);
      if (a && !a.comparable) l.unplaceable = a.why;
      else if (a?.uncertaintyNs) l.slackNs = a.uncertaintyNs;
    }
    this.sealed = false;
  }

  /** A log of losses already settled (a cache's). */
  static restore(losses: readonly Loss[]): LossLog {
    const log = new LossLog();
    for (const l of losses) log.add({ ...l });
    return log;
  }

  private seal(): void {
    if (this.sealed) return;
    this.loose = this.list.filter((l) => l.unplaceable);
    this.byFrom = this.list.filter((l) => !l.unplaceable).sort((a, b) => lossFrom(a) - lossFrom(b));
    let m = -Infinity;
    this.maxTo = this.byFrom.map((l) => (m = Math.max(m, lossTo(l))));
    this.sealed = true;
  }

  /** Whether events may be missing between t1 and t2 (inclusive) on any CPU. */
  overlaps(t1: number, t2: number): boolean {
    if (!this.list.length) return false;
    this.seal();
    if (this.loose.length) return true;
    // The last loss whose gap began before t2; any of those reaching past t1 overlaps.
    let lo = 0;
    let hi = this.byFrom.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lossFrom(this.byFrom[mid]!) < t2) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && this.maxTo[lo - 1]! > t1;
  }

  /** The losses between t1 and t2 on any CPU (or on `cpu` only). */
  within(t1: number, t2: number, cpu?: number): Loss[] {
    if (!this.overlaps(t1, t2)) return [];
    return this.list.filter((l) => (l.unplaceable || (lossFrom(l) < t2 && lossTo(l) > t1)) && (cpu === undefined || l.cpu === cpu));
  }

  /** Why a state or finding over [t1, t2] may be wrong; undefined when nothing was lost there. */
  uncertainty(t1: number, t2: number, cpu?: number): string | undefined {
    const ls = this.within(t1, t2, cpu);
    return ls.length ? describeLosses(ls) : undefined;
  }
}

/** Where a loss's gap may begin and end on the first buffer's clock (its offset's uncertainty added). */
function lossFrom(l: Loss): number {
  return l.from - (l.slackNs ?? 0);
}

function lossTo(l: Loss): number {
  return l.to + (l.slackNs ?? 0);
}

/**
 * "14,030 events lost on CPU 1 between 720.101234 and 720.120000; ..." (one clause per CPU of each
 * buffer; an instance's is named, as its clock and events may differ from the top-level buffer's).
 */
export function describeLosses(losses: readonly Loss[]): string {
  const perCpu = new Map<string, Loss[]>();
  for (const l of losses) {
    const key = `${l.buffer}\0${l.cpu}`;
    const s = perCpu.get(key);
    if (s) s.push(l);
    else perCpu.set(key, [l]);
  }
  const parts: string[] = [];
  const order = (a: Loss, b: Loss) => (a.buffer === b.buffer ? a.cpu - b.cpu : a.buffer < b.buffer ? -1 : 1);
  for (const ls of [...perCpu.values()].sort((a, b) => order(a[0]!, b[0]!))) {
    const { cpu, buffer } = ls[0]!;
    const counted = ls.reduce((n, l) => n + Math.max(0, l.count), 0);
    const uncounted = ls.some((l) => l.count < 0);
    const n = counted === 0 ? 'an unknown number of events' : `${uncounted ? 'at least ' : ''}${grouped(counted)} event${counted === 1 && !uncounted ? '' : 's'}`;
    const from = Math.min(...ls.map((l) => l.from));
    const to = Math.max(...ls.map((l) => l.to));
    const gaps = ls.length > 1 ? ` in ${ls.length} gaps` : '';
    const unplaceable = ls.find((l) => l.unplaceable)?.unplaceable;
    if (unplaceable) {
      parts.push(`CPU ${cpu} of ${buffer ? `buffer ${buffer}` : 'the top-level buffer'} lost ${n}; ${unplaceable}`);
      continue;
    }
    const where = to === Infinity ? 'at times the trace does not mark' : from < 0 ? `before ${fmtTs(to)}` : `between ${fmtTs(from)} and ${fmtTs(to)}`;
    const slack = Math.max(...ls.map((l) => l.slackNs ?? 0));
    parts.push(`${n} lost on CPU ${cpu}${buffer ? ` of buffer ${buffer}` : ''}${gaps} ${where}${slack ? ` (± ${grouped(slack)} ns: its clock's offset to the first buffer's)` : ''}`);
  }
  return parts.join('; ');
}

/**
 * Every loss of a trace, from its pages alone (no records visited): for analyses that must know of
 * a loss before the stream reaches it (the whole trace, so the saved counters can be squared).
 */
export function scanLosses(input: TraceInput): LossLog {
  const log = new LossLog();
  forEachLoss(input, {
    lastBefore: (cpu, ts, buffer) => log.seen(cpu, ts, buffer),
    lost: (cpu, ts, count, buffer) => log.lost(cpu, ts, count, buffer),
    // Overwritten before the recording: the CPU's history before ts is gone all the same.
    lostBefore: (cpu, ts, count, buffer) => log.lost(cpu, ts, count, buffer),
    done: (loss) => log.settle(loss),
  });
  return log;
}
