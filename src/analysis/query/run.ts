/** Runs SQL on a loaded trace and writes the rows as a table, CSV or JSON, chunk by chunk. */
import type { DuckDBConnection } from '@duckdb/node-api';
import { LkstError } from '../../base/errors.js';
import { table } from '../render.js';

export type QueryFormat = 'table' | 'csv' | 'json';

/** Rows shown in table form (the widths need them all); CSV and JSON stream without a limit. */
const TABLE_ROWS = 10_000;

function cell(v: unknown): string | number {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
}

export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/** Executes the statements in order and writes the last one's rows. Returns the row count. */
export async function runQuery(conn: DuckDBConnection, sql: string, format: QueryFormat, write: (s: string) => void): Promise<number> {
  let result;
  try {
    result = await conn.stream(sql);
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw new LkstError(`the query failed: ${msg}`, 'check the SQL; `lkst query FILE --tables` lists tables and columns');
  }
  const names = result.columnNames();
  let rows = 0;
  const held: (string | number)[][] = [];
  let truncated = false;
  if (format === 'csv') write(names.map(csvField).join(',') + '\n');
  if (format === 'json') write('[');
  for await (const chunk of result.yieldRowsJs()) {
    let out = '';
    for (const r of chunk) {
      const cells = r.map(cell);
      if (format === 'csv') out += cells.map(csvField).join(',') + '\n';
      else if (format === 'json') {
        const o: Record<string, string | number> = {};
        names.forEach((n, i) => (o[n] = cells[i]!));
        out += (rows ? ',\n' : '\n') + JSON.stringify(o);
      } else if (held.length < TABLE_ROWS) held.push(cells);
      else truncated = true;
      rows++;
    }
    if (out) write(out);
  }
  if (format === 'json') write(rows ? '\n]\n' : ']\n');
  if (format === 'table') {
    write(table(names, held) + '\n');
    write(truncated ? `(${rows} rows; first ${TABLE_ROWS} shown: use --csv or --json for all)\n` : `(${rows} row${rows === 1 ? '' : 's'})\n`);
  }
  return rows;
}
