/**
 * `lkst query` over a cache beside the trace: a DuckDB file holding each table once loaded, so
 * later queries read columns instead of decoding the trace again. Queries run in an in-memory
 * database whose tables are views on the cache attached read-only: a query that creates or
 * deletes rows cannot change what the next one sees.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import type { TraceInput } from '../input.js';
import { openCacheDir, selectionFile } from '../cache/location.js';
import { availableTables, loadTables, openTraceDb, scratchDb, tablesNamed, type TraceDb } from './database.js';
import { quoteIdent } from './columns.js';

export interface CachedTraceDb extends TraceDb {
  /** The cache file, or undefined when the query ran uncached (no place to write, or the cache busy). */
  cacheFile?: string;
  /** Tables this run had to decode from the trace (the rest came from the cache). */
  built: string[];
}

const LEDGER = 'lkst_tables';

async function ledger(conn: DuckDBConnection, schema: string): Promise<Map<string, number>> {
  const have = await conn.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE table_catalog = '${schema}' AND table_name = '${LEDGER}'`);
  if (!have.getRows().length) return new Map();
  const rows = await conn.runAndReadAll(`SELECT name, row_count FROM ${schema}.${LEDGER}`);
  return new Map(rows.getRows().map((r) => [String(r[0]), Number(r[1])]));
}

/** Decodes the tables not yet in the cache file into it; each is listed in the ledger only once complete. */
async function fill(file: string, input: TraceInput, missing: Set<string>, spill: string): Promise<void> {
  const inst = await DuckDBInstance.create(file, { memory_limit: '1GB', temp_directory: spill });
  const conn = await inst.connect();
  try {
    await conn.run(`CREATE TABLE IF NOT EXISTS ${LEDGER} (name VARCHAR, row_count BIGINT)`);
    // A table left by an interrupted fill is not in the ledger: dropped and made again.
    for (const t of missing) await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
    const loaded = await loadTables(conn, input, missing);
    for (const [name, rows] of loaded) await conn.run(`INSERT INTO ${LEDGER} VALUES ('${name.replace(/'/g, "''")}', ${rows})`);
    await conn.run('CHECKPOINT');
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/**
 * Opens the tables the statements name, from the trace's cache (building what it lacks); falls
 * back to an uncached database when the cache cannot be written or another lkst is filling it.
 */
export async function openCachedTraceDb(input: TraceInput, sql: string[]): Promise<CachedTraceDb> {
  const dir = openCacheDir(input.path);
  if (!dir) return { ...(await openTraceDb(input, sql)), built: [] };
  const file = join(dir, selectionFile('query', input.buffers, 'duckdb'));
  const { conn, dir: spill, close } = await scratchDb(() => ':memory:');
  try {
    const available = new Set(availableTables(input));
    const wanted = new Set([...tablesNamed(conn, sql)].filter((t) => available.has(t)));
    let cached = new Map<string, number>();
    let attached = false;
    const attach = async () => {
      await conn.run(`ATTACH '${file.replace(/'/g, "''")}' AS lkst_cache (READ_ONLY)`);
      attached = true;
      cached = await ledger(conn, 'lkst_cache');
    };
    const missing = new Set<string>();
    try {
      await attach();
    } catch {
      // No cache file yet.
    }
    for (const t of wanted) if (!cached.has(t)) missing.add(t);
    if (missing.size) {
      if (attached) await conn.run('DETACH lkst_cache');
      try {
        await fill(file, input, missing, spill);
      } catch (err) {
        if (!/lock/i.test((err as Error).message)) throw err;
        close();
        return { ...(await openTraceDb(input, sql)), built: [...missing] };
      }
      await attach();
    }
    for (const t of wanted) await conn.run(`CREATE VIEW ${quoteIdent(t)} AS SELECT * FROM lkst_cache.${quoteIdent(t)}`);
    const loaded = new Map([...wanted].map((t) => [t, cached.get(t) ?? 0]));
    return { conn, loaded, close, cacheFile: file, built: [...missing] };
  } catch (err) {
    close();
    throw err;
  }
}
