/**
 * Loads a trace into an embedded DuckDB: only the tables a query names, streamed through
 * appenders into an on-disk temporary database (DuckDB spills, so memory stays bounded).
 */
import { type DuckDBConnection, DuckDBInstance, type DuckDBAppender } from '@duckdb/node-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LkstError } from '../../base/errors.js';
import type { TraceInput } from '../input.js';
import { Pass } from '../pass.js';
import { StatsAnalysis } from '../stats.js';
import { eventColumns, quoteIdent, tableNames, type Column } from './columns.js';
import { fieldsJsonOf } from '../fields-json.js';

export interface TraceDb {
  conn: DuckDBConnection;
  /** Tables loaded, with their row counts. */
  loaded: Map<string, number>;
  close(): void;
}

const EVENTS_COLUMNS = 'ts BIGINT, cpu INTEGER, buffer VARCHAR, pid INTEGER, comm VARCHAR, event VARCHAR';

const TASKS_COLUMNS = 'pid INTEGER, comm VARCHAR, events BIGINT, run_ns BIGINT, switches BIGINT, last_state VARCHAR';
/** Per buffer and CPU, the loss ledger's figures (trace/loss.ts): lost during the recording, exact or a lower bound, and before it. */
const CPUS_COLUMNS = 'buffer VARCHAR, cpu INTEGER, events BIGINT, lost BIGINT, lost_exact BOOLEAN, lost_before BIGINT';
/** Each place a loss was flagged (count NULL: flagged without a count), and losses after a CPU's last page. */
const LOST_COLUMNS = 'ts BIGINT, buffer VARCHAR, cpu INTEGER, count BIGINT';

/** Every table name a query on this trace may use. */
export function availableTables(input: TraceInput): string[] {
  return ['events', 'tasks', 'cpus', 'lost', ...tableNames(input.registry).keys()];
}

/** The tables and their columns, one per line (without loading anything). */
export function describeTables(input: TraceInput): string {
  const lines = [`events(${EVENTS_COLUMNS})`, `tasks(${TASKS_COLUMNS})`, `cpus(${CPUS_COLUMNS})`, `lost(${LOST_COLUMNS})`];
  const names = [...tableNames(input.registry)].sort((a, b) => a[0].localeCompare(b[0]));
  for (const [name, fmt] of names) lines.push(`${name}(${eventColumns(fmt).map((c) => `${c.name} ${c.type}`).join(', ')})`);
  return lines.join('\n') + '\n';
}

interface Loader {
  cols: Column[];
  app: DuckDBAppender;
  rows: number;
}

function append(app: DuckDBAppender, c: Column, v: number | bigint | string): void {
  switch (c.type) {
    case 'VARCHAR':
      app.appendVarchar(String(v));
      break;
    case 'INTEGER':
      app.appendInteger(Number(v));
      break;
    case 'UBIGINT':
      app.appendUBigInt(BigInt(v));
      break;
    default:
      app.appendBigInt(BigInt(v));
  }
}

/** The table names the statements refer to (refused with a one-line error when one does not parse). */
export function tablesNamed(conn: DuckDBConnection, sql: readonly string[]): Set<string> {
  const wanted = new Set<string>();
  for (const s of sql) {
    let names: readonly string[];
    try {
      names = conn.getTableNames(s, false);
    } catch (err) {
      throw new LkstError(`the query does not parse: ${(err as Error).message.split('\n')[0]}`, 'check the SQL; `lkst query FILE --tables` lists the tables');
    }
    for (const n of names) wanted.add(n);
  }
  return wanted;
}

export interface LoadOptions {
  eventFields?: boolean;
}

/**
 * A database with its own spill directory (removed on close): at the path `file` names inside
 * that directory, or ':memory:'.
 */
export async function scratchDb(file: (dir: string) => string, memoryLimit = '1GB'): Promise<{ conn: DuckDBConnection; dir: string; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-db-'));
  const instance = await DuckDBInstance.create(file(dir), { memory_limit: memoryLimit, temp_directory: dir });
  const conn = await instance.connect();
  const close = () => {
    conn.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  };
  return { conn, dir, close };
}

/**
 * Opens a database holding the tables the given SQL statements refer to (all of them when
 * `all`), loaded in one pass over the trace.
 */
export async function openTraceDb(input: TraceInput, sql: string[], opts: { all?: boolean; memoryLimit?: string } & LoadOptions = {}): Promise<TraceDb> {
  const { conn, close } = await scratchDb((dir) => join(dir, 'trace.duckdb'), opts.memoryLimit);
  try {
    const wanted = tablesNamed(conn, sql);
    if (opts.all) for (const t of availableTables(input)) wanted.add(t);
    const loaded = await loadTables(conn, input, wanted, opts);
    return { conn, loaded, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** Creates and fills, in one pass over the trace, those of the wanted tables the trace has. Returns their row counts. */
export async function loadTables(conn: DuckDBConnection, input: TraceInput, wanted: ReadonlySet<string>, opts: LoadOptions = {}): Promise<Map<string, number>> {
  const byName = tableNames(input.registry);
  const loaded = new Map<string, number>();
  const loaders = new Map<number, Loader>();
  for (const [name, fmt] of byName) {
    if (!wanted.has(name)) continue;
    const cols = eventColumns(fmt);
    await conn.run(`CREATE TABLE ${quoteIdent(name)} (${cols.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`);
    loaders.set(fmt.id, { cols, app: await conn.createAppender(name), rows: 0 });
  }
  const withEvents = wanted.has('events');
  let eventsApp: DuckDBAppender | undefined;
  if (withEvents) {
    await conn.run(`CREATE TABLE events (${EVENTS_COLUMNS}${opts.eventFields ? ', fields VARCHAR' : ''})`);
    eventsApp = await conn.createAppender('events');
  }
  const fieldsJson = opts.eventFields ? fieldsJsonOf(input.registry) : undefined;
  const pass = new Pass(input);
  const stats = wanted.has('tasks') || wanted.has('cpus') ? pass.add(new StatsAnalysis(pass)) : undefined;
  const lostRows: { ts: number; buffer: string; cpu: number; count: number }[] = [];
  if (wanted.has('lost')) pass.add({ lost: (cpu, ts, count, buffer) => lostRows.push({ ts, buffer, cpu, count }) });
  let events = 0;
  if (loaders.size || eventsApp || stats || wanted.has('lost')) {
    const commOf = (pid: number) => pass.model.commOf(pid);
    pass.add({
      event: (ev) => {
        const l = loaders.get(ev.id);
        if (!l && !eventsApp) return;
        const comm = commOf(ev.pid);
        if (l) {
          for (const c of l.cols) append(l.app, c, c.get(ev, comm));
          l.app.endRow();
          l.rows++;
        }
        if (eventsApp) {
          eventsApp.appendBigInt(BigInt(ev.ts));
          eventsApp.appendInteger(ev.cpu);
          eventsApp.appendVarchar(ev.buffer);
          eventsApp.appendInteger(ev.pid);
          eventsApp.appendVarchar(comm);
          eventsApp.appendVarchar(ev.fmt ? `${ev.fmt.system}:${ev.fmt.name}` : `unknown-${ev.id}`);
          if (fieldsJson) eventsApp.appendVarchar(fieldsJson(ev));
          eventsApp.endRow();
          events++;
        }
      },
    });
    pass.run();
  }
  for (const [name, fmt] of byName) {
    const l = loaders.get(fmt.id);
    if (!l) continue;
    l.app.closeSync();
    loaded.set(name, l.rows);
  }
  if (eventsApp) {
    eventsApp.closeSync();
    loaded.set('events', events);
  }
  if (stats) {
    const s = stats.result();
    if (wanted.has('tasks'))
      await fillTable(conn, 'tasks', TASKS_COLUMNS, s.tasks, loaded, (app, t) => {
        app.appendInteger(t.pid);
        app.appendVarchar(t.comm);
        app.appendBigInt(BigInt(t.events));
        app.appendBigInt(BigInt(Math.round(t.runNs)));
        app.appendBigInt(BigInt(t.switches));
        app.appendVarchar(pass.model.tasks.get(t.pid)?.state ?? 'unknown');
      });
    if (wanted.has('cpus'))
      await fillTable(conn, 'cpus', CPUS_COLUMNS, s.byCpu, loaded, (app, c) => {
        app.appendVarchar(c.buffer);
        app.appendInteger(c.cpu);
        app.appendBigInt(BigInt(c.events));
        app.appendBigInt(BigInt(c.lost));
        app.appendBoolean(c.lostExact);
        app.appendBigInt(BigInt(c.lostBefore));
      });
  }
  if (wanted.has('lost'))
    await fillTable(conn, 'lost', LOST_COLUMNS, [...lostRows, ...pass.loss.unplaced], loaded, (app, r) => {
      app.appendBigInt(BigInt(r.ts));
      app.appendVarchar(r.buffer);
      app.appendInteger(r.cpu);
      if (r.count < 0) app.appendNull();
      else app.appendBigInt(BigInt(r.count));
    });
  return loaded;
}

/** Creates a table and appends a row per item; notes its row count in loaded. */
async function fillTable<T>(conn: DuckDBConnection, name: string, columns: string, rows: readonly T[], loaded: Map<string, number>, row: (app: DuckDBAppender, r: T) => void): Promise<void> {
  await conn.run(`CREATE TABLE ${name} (${columns})`);
  const app = await conn.createAppender(name);
  for (const r of rows) {
    row(app, r);
    app.endRow();
  }
  app.closeSync();
  loaded.set(name, rows.length);
}
