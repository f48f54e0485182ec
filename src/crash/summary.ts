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
 * One pass over a buffer's pages: counts per CPU (checked against the kernel's), the event ids
 * seen (added to `ids`), and the last records.
 */
export function summarizeBuffer(
  b: { name: string; clock: string; pageSize: number; cpus: CpuPages[] },
  ids: Set<number>, o: SummaryOptions, warnings: string[],
): { summary: BufferSummary; stats: string[]; tail: TailRecord[] } {
  const tail: TailRecord[] = [];
  let floor = -Infinity;
  const cpus: CpuSummary[] = [];
  const stats: string[] = [];
  for (const c of b.cpus) {
    const s: CpuSummary = { cpu: c.cpu, events: 0, pages: c.pageCount, expected: c.entries - c.overrun - c.read, overrun: c.overrun, dropped: c.dropped, missingPages: c.missingPages,
      damagedPages: c.damagedPages, damageLost: c.damageLost };
    for (let i = 0; i < c.pageCount; i++) {
      const page = c.page(i);
      try {
        forEachRecord(page, 0, b.pageSize, (ts, off, len) => {
          s.events++;
          s.firstTs ??= ts;
          s.lastTs = ts;
          ids.add(page.readUInt16LE(off));
          // Older than every kept one once the tail is full: no object made per record.
          if (ts < floor) return;
          tail.push({ buffer: b.name, cpu: c.cpu, ts, page, off, len });
          if (tail.length > o.keep * 4) {
            tail.sort((x, y) => y.ts - x.ts);
            tail.length = o.keep;
            floor = tail[tail.length - 1]?.ts ?? -Infinity;
          }
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
  // Buffers may use different clocks: the last events are kept per buffer.
  tail.sort((x, y) => y.ts - x.ts);
  tail.length = Math.min(tail.length, o.keep);
  return { summary: { name: b.name, clock: b.clock, pageSize: b.pageSize, cpus }, stats, tail: tail.reverse() };
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

