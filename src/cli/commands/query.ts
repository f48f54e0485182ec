import type { Command } from 'commander';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { runQuery, type QueryFormat } from '../../analysis/query/run.js';
import { LkstError } from '../../base/errors.js';

interface QueryOpts {
  csv?: boolean;
  json?: boolean;
  tables?: boolean;
  cache: boolean;
  buffer: string[];
}

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('SQL over the trace (DuckDB): one table per event type (ts, cpu, common_pid, comm, then its fields), plus events, tasks and cpus')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .argument('[sql]', 'the query, e.g. "SELECT next_comm, count(*) FROM sched_switch GROUP BY 1 ORDER BY 2 DESC"')
    .option('--csv', 'print CSV')
    .option('--json', 'print JSON')
    .option('--tables', 'list the tables and their columns')
    .option('--no-cache', 'neither read nor build the cache of tables beside the trace (`lkst cache clear` removes it)')
    .action(
      action(async (file: string, sql: string | undefined, opts: QueryOpts) =>
        withTrace({ path: file, buffers: opts.buffer }, async (t) => {
          // DuckDB loads in ~0.2 s of CPU: only when a query runs, not on every lkst command.
          const { describeTables, openTraceDb } = await import('../../analysis/query/database.js');
          if (opts.tables) {
            process.stdout.write(describeTables(t));
            return;
          }
          if (!sql) throw new LkstError('no SQL given', 'pass a query after the file, or --tables to see what can be queried');
          const format: QueryFormat = opts.csv ? 'csv' : opts.json ? 'json' : 'table';
          const db = opts.cache ? await (await import('../../analysis/query/cached.js')).openCachedTraceDb(t, [sql]) : await openTraceDb(t, [sql]);
          try {
            await runQuery(db.conn, sql, format, (s) => process.stdout.write(s));
          } finally {
            db.close();
          }
        }),
      ),
    );
}
