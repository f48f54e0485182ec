// lkst query: the trace as SQL tables in DuckDB, on a trace recorded from this kernel.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { openTraceDb, describeTables, type TraceDb } from '../../src/analysis/query/database.js';
import { runQuery } from '../../src/analysis/query/run.js';
import { traceStats, type TraceStats } from '../../src/analysis/stats.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { bindFields } from '../../src/analysis/schema.js';
import { LkstError } from '../../src/base/errors.js';
import { recordTrace, sleeperScript, type RecordedTrace } from './record-trace.js';

async function collect(db: TraceDb, sql: string, format: 'csv' | 'json' | 'table'): Promise<string> {
  let out = '';
  await runQuery(db.conn, sql, format, (s) => (out += s));
  return out;
}

describe('lkst query', () => {
  let rec: RecordedTrace;
  let trace: OpenedTrace;
  let stats: TraceStats;
  let db: TraceDb;
  const sql = {
    perEvent: 'SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event',
    switches: 'SELECT ts, cpu, prev_pid, next_pid, next_comm FROM sched_switch ORDER BY ts',
    tasks: 'SELECT pid, comm, events FROM tasks ORDER BY pid',
    cpus: 'SELECT cpu, events FROM cpus ORDER BY cpu',
  };

  before(async () => {
    rec = await recordTrace(sleeperScript('/dev/null', 5, 0.02));
    trace = openTrace(rec.path);
    stats = traceStats(trace);
    db = await openTraceDb(trace, Object.values(sql));
  });
  after(() => {
    db?.close();
    trace?.close();
    rec?.cleanup();
  });

  test('only the tables the query names are loaded', () => {
    assert.deepEqual([...db.loaded.keys()].sort(), ['cpus', 'events', 'sched_switch', 'tasks']);
    assert.equal(db.loaded.get('events'), stats.events);
  });

  test('events per type in SQL equal the streaming stats', async () => {
    const rows = JSON.parse(await collect(db, sql.perEvent, 'json')) as { event: string; n: number }[];
    const expect = [...stats.byEvent].sort((a, b) => (a.event < b.event ? -1 : 1)).map((e) => ({ event: e.event, n: e.count }));
    assert.deepEqual(rows, expect);
  });

  test('sched_switch rows carry the decoded fields, in time order, as CSV', async () => {
    const csv = (await collect(db, sql.switches, 'csv')).trim().split('\n');
    assert.equal(csv[0], 'ts,cpu,prev_pid,next_pid,next_comm');
    const raw: string[] = [];
    const f = bindFields(trace.registry, 'sched', 'sched_switch', ['prev_pid', 'next_pid', 'next_comm'])!;
    forEachEvent(trace, {
      event: (ev) => {
        if (ev.id === f.fmt.id) raw.push([ev.ts, ev.cpu, ev.num(f.prev_pid), ev.num(f.next_pid), ev.str(f.next_comm)].join(','));
      },
    });
    // Same-time records may come in either order from SQL; compare as sorted lists.
    assert.deepEqual(csv.slice(1).sort(), raw.sort());
    assert.ok(raw.length > 0);
  });

  test('tasks and cpus tables match the stats', async () => {
    const tasks = JSON.parse(await collect(db, sql.tasks, 'json')) as { pid: number; comm: string; events: number }[];
    assert.equal(tasks.length, stats.tasks.length);
    for (const t of stats.tasks) assert.ok(tasks.some((x) => x.pid === t.pid && x.events === t.events && x.comm === t.comm), `task ${t.pid}`);
    const cpus = JSON.parse(await collect(db, sql.cpus, 'json')) as { cpu: number; events: number }[];
    assert.deepEqual(cpus, stats.byCpu.map((c) => ({ cpu: c.cpu, events: c.events })));
  });

  test('table output and --tables listing', async () => {
    const out = await collect(db, sql.cpus, 'table');
    assert.match(out, /^cpu\s+events\n/);
    assert.match(out, /\(\d+ rows?\)\n$/);
    const tables = describeTables(trace);
    assert.match(tables, /^sched_switch\(ts BIGINT, cpu INTEGER, buffer VARCHAR, common_pid INTEGER, comm VARCHAR, prev_comm VARCHAR, prev_pid INTEGER/m);
    // sched_waking's own pid field keeps its name; the task that woke it is common_pid.
    assert.match(tables, /^sched_waking\(.*common_pid INTEGER.* pid INTEGER/m);
  });

  test('a bad query is a one-line LkstError', async () => {
    await assert.rejects(collect(db, 'SELECT nope FROM sched_switch', 'table'), (e: unknown) => e instanceof LkstError && /nope/.test(e.message) && !e.message.includes('\n'));
  });
});
