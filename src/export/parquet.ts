/**
 * Parquet through DuckDB: the events table (with fields as JSON, a buffer column), one event type's
 * typed table, or one of the trace's own tables: lost (each loss placed in time, the same figures
 * as every command), cpus (events and losses per buffer and CPU), tasks.
 */
import { rmSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TraceInput } from '../analysis/input.js';
import { quoteIdent, tableNames } from '../analysis/query/columns.js';
import { LkstError } from '../base/errors.js';

const TRACE_TABLES = ['lost', 'cpus', 'tasks'];

export async function exportParquet(input: TraceInput, path: string, opts: { event?: string } = {}): Promise<{ rows: number }> {
  let table = 'events';
  if (opts.event && TRACE_TABLES.includes(opts.event)) table = opts.event;
  else if (opts.event) {
    const names = tableNames(input.registry);
    const want = opts.event.includes(':') ? opts.event.split(':')[1]! : opts.event;
    table = [...names.keys()].find((n) => n === opts.event || n === want || n.endsWith(`_${want}`)) ?? '';
    if (!table) throw new LkstError(`the trace has no event ${opts.event}`, '`lkst query FILE --tables` lists the event tables');
  }
  // DuckDB loads in ~0.2 s of CPU: only when Parquet is asked for, not on every lkst command.
  const { openTraceDb } = await import('../analysis/query/database.js');
  const db = await openTraceDb(input, [`SELECT * FROM ${quoteIdent(table)}`], { eventFields: table === 'events' });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const order = table === 'cpus' ? 'buffer, cpu' : table === 'tasks' ? 'pid' : 'ts';
    await db.conn.run(`COPY (SELECT * FROM ${quoteIdent(table)} ORDER BY ${order}) TO '${tmp.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION zstd)`);
    renameSync(tmp, path);
    return { rows: db.loaded.get(table) ?? 0 };
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof LkstError) throw err;
    throw new LkstError(`cannot write ${path} (${(err as Error).message.split('\n')[0]})`, 'choose a writable output path with -o');
  } finally {
    db.close();
  }
}
