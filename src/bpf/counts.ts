/**
 * The count handlers' tables: the runner's raw keys decoded by their layouts (codegen.ts), kept in
 * the trace when recording ends (JSON, trace.dat option LKST_COUNTS) and shown by `lkst status`
 * live and `lkst stats` afterwards, one line per key with its count.
 */
import type { CountLayout } from './codegen.js';
import { grouped } from '../base/grouped.js';

export interface RawCount {
  map: string;
  key: Buffer;
  count: number;
}

/** "count MAP KEYHEX VALUE" lines (the runner's end report and its live file). */
export function parseCountLines(text: string): RawCount[] {
  return [...text.matchAll(/^count (\S+) ([0-9a-f]+) (\d+)$/gm)].map((m) => ({ map: m[1]!, key: Buffer.from(m[2]!, 'hex'), count: Number(m[3]) }));
}

export interface CountRow {
  /** The key fields' values, in the order of `by`. */
  values: string[];
  count: number;
  /** With hist=: the count per log2 bucket of the field ([low, high) of its values). */
  hist?: { low: string; high: string; count: number }[];
}

export interface CountTable {
  event: string;
  by: string[];
  hist?: string;
  /** The maskset entry ("FILE:LINE EVENT count"). */
  from?: string;
  rows: CountRow[];
}

export interface CountsReport {
  tables: CountTable[];
  /** Events whose key found its table full: counted in no row (the tables are short by this much). */
  nokey: number;
}

function bucketRange(b: number): { low: string; high: string } {
  if (b === 65) return { low: '-inf', high: '0' };
  if (b === 0) return { low: '0', high: '1' };
  return { low: String(1n << BigInt(b - 1)), high: String(1n << BigInt(b)) };
}

/** Decodes the runner's raw tables; rows by count, largest first. */
export function decodeCounts(layouts: readonly CountLayout[], raw: readonly RawCount[], nokey: number): CountsReport {
  const tables = layouts.map((l) => {
    const rows = new Map<string, CountRow>();
    for (const r of raw.filter((x) => x.map === l.map)) {
      const values = l.by.map((_, i) => {
        const v = r.key.readBigUInt64LE(i * 8);
        return String(l.signed[i] ? BigInt.asIntN(64, v) : v);
      });
      const id = values.join(' ');
      const row = rows.get(id) ?? { values, count: 0, ...(l.hist ? { hist: [] } : {}) };
      rows.set(id, row);
      row.count += r.count;
      if (l.hist) row.hist!.push({ ...bucketRange(Number(r.key.readBigUInt64LE(l.by.length * 8))), count: r.count });
    }
    const sorted = [...rows.values()].sort((a, b) => b.count - a.count);
    for (const r of sorted) r.hist?.sort((a, b) => (a.low === '-inf' ? -1 : b.low === '-inf' ? 1 : Number(BigInt(a.low) - BigInt(b.low))));
    return { event: l.event, by: [...l.by], ...(l.hist ? { hist: l.hist } : {}), ...(l.from ? { from: l.from } : {}), rows: sorted };
  });
  return { tables, nokey };
}

/** The tables as lines: a heading per table, then one line per key with its count (and histogram). */
export function renderCounts(c: CountsReport, maxRows = Infinity): string[] {
  const out: string[] = [];
  for (const t of c.tables) {
    out.push(`${t.event} count by=${t.by.join(',')}${t.hist ? ` hist=${t.hist}` : ''}: ${t.rows.length} keys, ${grouped(t.rows.reduce((n, r) => n + r.count, 0))} events${t.from ? ` (${t.from})` : ''}`);
    for (const r of t.rows.slice(0, maxRows)) {
      const key = t.by.map((b, i) => `${b}=${r.values[i]}`).join(' ');
      const hist = r.hist ? `  ${t.hist}: ${r.hist.map((h) => `[${h.low},${h.high}) ${h.count}`).join(' ')}` : '';
      out.push(`  ${key}  ${grouped(r.count)}${hist}`);
    }
    if (t.rows.length > maxRows) out.push(`  ... ${t.rows.length - maxRows} more keys`);
  }
  if (c.nokey) out.push(`uncertain: ${grouped(c.nokey)} events found their count table full and are in no row`);
  return out;
}

/** The tables a trace stored (its LKST_COUNTS option), or undefined when it has none or they do not parse. */
export function storedCounts(json: string | undefined): CountsReport | undefined {
  if (!json) return undefined;
  try {
    const c = JSON.parse(json) as CountsReport;
    return Array.isArray(c.tables) ? c : undefined;
  } catch {
    return undefined;
  }
}
