// Per-buffer summary of recovered pages: events per CPU against the kernel's own counts, time
// span, the last events, and the per-CPU stats text stored in the trace file.
import type { EventFormat } from '../events/format.js';
import { readFields } from '../ringbuf/fields.js';
import { forEachRecord } from '../ringbuf/page.js';
import { fieldsText } from './events.js';
import type { CpuPages } from './ringbuffer.js';

export interface CpuSummary {
  cpu: number;
  events: number;
  pages: number;
  /** entries - overrun - read, from the kernel's own counters: what a live reader would have got. */
  expected: number;
  overrun: number;
  dropped: number;
  missingPages: number;
  /** Pages cut or dropped as damaged, and the events lost with them and the missing pages (undefined: unknown). */
  damagedPages: number;
  damageLost?: number;
  firstTs?: number;
  lastTs?: number;
}

export interface BufferSummary { name: string; clock: string; pageSize: number; cpus: CpuSummary[] }

export interface LastEvent { buffer: string; cpu: number; ts: number; event: string; detail?: string }

export interface SummaryOptions {
  /** How many of the last events to keep. */
  keep: number;
  /** The panic's time, written as each CPU's "now ts". */
  panicTs?: number;
}

/** One of the last records of a buffer, kept raw until the formats are known. */
export interface TailRecord { buffer: string; cpu: number; ts: number; page: Buffer; off: number; len: number }

/**
 * A buffer's counts per CPU (checked against the kernel's), the event ids seen (added to `ids`, in
 * the order first seen) and the last records. Settled pages carry their counts from the look that
 * checked them, so only pages that may hold one of the last records are read again.
 */
export function summarizeBuffer(
  b: { name: string; clock: string; pageSize: number; cpus: CpuPages[] },
  ids: Set<number>, o: SummaryOptions, warnings: string[],
): { summary: BufferSummary; stats: string[]; tail: TailRecord[] } {
  const tail = new Tail(o.keep, notOlderThan(b.cpus, o.keep));
  const cpus: CpuSummary[] = [];
  const stats: string[] = [];
  for (const c of b.cpus) {
    const s: CpuSummary = { cpu: c.cpu, events: 0, pages: c.pageCount, expected: c.entries - c.overrun - c.read, overrun: c.overrun, dropped: c.dropped, missingPages: c.missingPages,
      damagedPages: c.damagedPages, damageLost: c.damageLost };
    for (let i = 0; i < c.pageCount; i++) {
      const k = c.checked?.[i];
      if (k) {
        s.events += k.records;
        for (const id of k.ids) ids.add(id);
        if (k.records) { s.firstTs ??= k.firstTs; s.lastTs = k.lastTs; }
        if (!(k.maxTs >= tail.since)) continue;
      }
      const page = c.page(i);
      try {
        forEachRecord(page, 0, b.pageSize, (ts, off, len) => {
          if (!k) {
            s.events++;
            s.firstTs ??= ts;
            s.lastTs = ts;
            ids.add(page.readUInt16LE(off));
          }
          tail.offer({ buffer: b.name, cpu: c.cpu, ts, page, off, len });
        });
      } catch (e) {
        warnings.push(`${b.name}: cpu${c.cpu}: a damaged page was cut short (${(e as Error).message})`);
      }
    }
    if (s.events !== s.expected && !c.missingPages && !c.damagedPages) {
      warnings.push(`${b.name}: cpu${c.cpu}: decoded ${s.events} events, the kernel counted ${s.expected}`);
    }
    cpus.push(s);
    stats[c.cpu] = cpuStatsText(c, s, o.panicTs);
  }
  return { summary: { name: b.name, clock: b.clock, pageSize: b.pageSize, cpus }, stats, tail: tail.last() };
}

/**
 * A time no record older than can be among the last `keep`: the earliest time of the settled
 * pages with the latest earliest times that hold `keep` records between them. -Infinity when
 * some CPU's pages are not settled or there are fewer records.
 */
function notOlderThan(cpus: CpuPages[], keep: number): number {
  const pages: Array<{ minTs: number; records: number }> = [];
  for (const c of cpus) {
    if (!c.checked) return -Infinity;
    for (const k of c.checked) if (k.records) pages.push(k);
  }
  pages.sort((x, y) => y.minTs - x.minTs);
  let n = 0;
  for (const p of pages) if ((n += p.records) >= keep) return p.minTs;
  return -Infinity;
}

/**
 * The newest `keep` records offered, in time order; equal times in the order offered. Records
 * older than `since` are never among them (the caller knows enough newer ones).
 */
class Tail {
  private kept: TailRecord[] = [];
  private floor = -Infinity;
  constructor(private keep: number, readonly since: number) {}
  offer(r: TailRecord): void {
    // Older than every kept one once the tail is full: no object kept per record.
    if (r.ts < this.floor || r.ts < this.since) return;
    this.kept.push(r);
    if (this.kept.length > this.keep * 4) {
      this.kept.sort((x, y) => y.ts - x.ts);
      this.kept.length = this.keep;
      this.floor = this.kept[this.kept.length - 1]?.ts ?? -Infinity;
    }
  }
  last(): TailRecord[] {
    // Buffers may use different clocks: the last events are kept per buffer.
    this.kept.sort((x, y) => y.ts - x.ts);
    this.kept.length = Math.min(this.kept.length, this.keep);
    return this.kept.reverse();
  }
}

/** The kept records as events, once their formats are known. */
export function describeTail(tail: TailRecord[], formats: Map<number, EventFormat>, symbolize?: (addr: bigint) => string | undefined): LastEvent[] {
  return tail.map((t): LastEvent => {
    const id = t.page.readUInt16LE(t.off);
    const f = formats.get(id);
    return {
      buffer: t.buffer, cpu: t.cpu, ts: t.ts, event: f ? `${f.system}:${f.name}` : `id ${id}`,
      detail: f ? fieldsText(readFields(t.page, t.off, t.len, f), symbolize) : undefined,
    };
  });
}

const secs = (ns: number) => `${Math.floor(ns / 1e9)}.${String(Math.floor((ns % 1e9) / 1e3)).padStart(6, '0')}`;

/**
 * per_cpu/cpuN/stats as the kernel prints it. "entries" counts what stayed behind in the kernel
 * (none: everything left was recovered); "now ts" is the panic's time (log clock).
 */
function cpuStatsText(c: CpuPages, s: CpuSummary, panicTs?: number): string {
  return `entries: 0\noverrun: ${c.overrun}\ncommit overrun: ${c.commitOverrun}\nbytes: 0\n` +
    (s.firstTs !== undefined ? `oldest event ts: ${secs(s.firstTs)}\n` : '') +
    (panicTs !== undefined ? `now ts: ${secs(panicTs)}\n` : '') +
    `dropped events: ${c.dropped}\nread events: ${c.read}\n`;
}

