// Exports of a trace recorded from this kernel (Chrome JSON, CSV, Parquet, report --json) read back and
// checked against the trace's own events; the Perfetto export has its own test (perfetto.test.ts).
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { traceStats, type TraceStats } from '../../src/analysis/stats.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { bindFields } from '../../src/analysis/schema.js';
import { withSink } from '../../src/export/file-sink.js';
import { exportChromeJson } from '../../src/export/chrome-json.js';
import { exportCsv, CSV_HEADER } from '../../src/export/csv.js';
import { exportParquet } from '../../src/export/parquet.js';
import { ANALYSIS_EVENTS, recordTrace, type RecordedTrace } from '../analysis/record-trace.js';
import { reportText } from '../report/report-output.js';

/** Written to the instance's trace_marker by the workload: an ftrace:print whose buf is an unsized char[]. */
const MARKER = 'lkst export marker';

describe('exports', () => {
  let rec: RecordedTrace;
  let trace: OpenedTrace;
  let stats: TraceStats;
  let out: string;
  let pidFile: string;
  let pid: number;
  /** "ts prev_pid prev_state next_pid next_comm" of every sched_switch, from the trace. */
  const switches: string[] = [];

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'lkst-export-'));
    pidFile = join(out, 'pid');
    const markerFile = join(out, 'marker');
    rec = await recordTrace(['sh', '-c', `echo $$ > ${pidFile}; echo '${MARKER}' > $(cat ${markerFile}); exec sleep 0.1`], ANALYSIS_EVENTS, {
      onInstance: (inst) => writeFileSync(markerFile, inst.path('trace_marker')),
    });
    pid = Number(readFileSync(pidFile, 'utf8'));
    trace = openTrace(rec.path);
    stats = traceStats(trace);
    const f = bindFields(trace.registry, 'sched', 'sched_switch', ['prev_pid', 'prev_state', 'next_pid', 'next_comm'])!;
    forEachEvent(trace, {
      event: (ev) => {
        if (ev.id === f.fmt.id) switches.push(`${ev.ts} ${ev.num(f.prev_pid)} ${ev.num(f.prev_state)} ${ev.num(f.next_pid)} ${ev.str(f.next_comm)}`);
      },
    });
    assert.ok(switches.length > 0);
  });
  after(() => {
    trace?.close();
    rec?.cleanup();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('Chrome JSON: one instant per event, running slices per CPU and task, the sleep as a syscall slice', () => {
    const path = join(out, 't.json');
    withSink(path, (s) => exportChromeJson(trace, s));
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: { ph: string; name: string; pid: number; tid?: number; ts: number; dur?: number; cat?: string; args?: Record<string, unknown> }[] };
    const ev = doc.traceEvents;
    const instants = ev.filter((e) => e.ph === 'i' && e.cat !== 'lost');
    assert.equal(instants.length, stats.events);
    const perEvent = new Map<string, number>();
    for (const e of instants) perEvent.set(e.name, (perEvent.get(e.name) ?? 0) + 1);
    assert.deepEqual(new Map([...perEvent].sort()), new Map(stats.byEvent.map((e): [string, number] => [e.event, e.count]).sort()));
    assert.ok(ev.some((e) => e.ph === 'X' && e.pid === 0 && e.name === `sleep:${pid}`), 'the sleeper runs on a CPU row');
    assert.ok(ev.some((e) => e.ph === 'X' && e.pid === pid && e.name.startsWith('running')));
    const b = ev.find((e) => e.ph === 'b' && e.pid === pid && e.name === 'clock_nanosleep');
    const end = ev.find((e) => e.ph === 'e' && e.pid === pid && e.name === 'clock_nanosleep');
    assert.ok(b && end && end.ts - b.ts >= 100_000, 'the 0.1 s sleep spans at least 100000 us');
    assert.ok(ev.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === pid && (e.args as { name: string }).name === 'sleep'));
  });

  test('CSV: a header and one row per event, fields as JSON', () => {
    const path = join(out, 't.csv');
    withSink(path, (s) => exportCsv(trace, s));
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], CSV_HEADER);
    assert.equal(lines.length - 1, stats.events);
    const sw = lines.filter((l) => l.split(',')[5] === 'sched:sched_switch');
    assert.equal(sw.length, switches.length);
    const m = /^(\d+),\d+,[^,]*,-?\d+,[^,]*,sched:sched_switch,"(.*)"$/.exec(sw[0]!);
    assert.ok(m);
    const f = JSON.parse(m[2]!.replace(/""/g, '"')) as { prev_pid: number; next_pid: number };
    assert.equal(`${m[1]} ${f.prev_pid}`, switches[0]!.split(' ').slice(0, 2).join(' '));
    const prints = lines.filter((l) => l.split(',')[5] === 'ftrace:print').map((l) => JSON.parse(/,"(.*)"$/.exec(l)![1]!.replace(/""/g, '"')) as { buf: string });
    assert.deepEqual(prints.map((p) => p.buf), [`${MARKER}\n`]);
  });

  test('report --json: the marker text in the print event\'s buf', async () => {
    const { text } = await reportText(out, rec.path, { json: true });
    const prints = text.split('\n').filter((l) => l.includes('"event":"print"')).map((l) => JSON.parse(l) as { fields: { buf: string } });
    assert.deepEqual(prints.map((p) => p.fields.buf), [`${MARKER}\n`]);
  });

  test('Parquet: all events with fields, and one event type with typed columns, read back by DuckDB', async () => {
    const allPath = join(out, 't.parquet');
    const swPath = join(out, 'sw.parquet');
    assert.equal((await exportParquet(trace, allPath)).rows, stats.events);
    assert.equal((await exportParquet(trace, swPath, { event: 'sched:sched_switch' })).rows, switches.length);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      const marks = (await c.runAndReadAll(`SELECT json_extract_string(fields, '$.buf') FROM read_parquet('${allPath}') WHERE event = 'ftrace:print'`)).getRows();
      assert.deepEqual(marks, [[`${MARKER}\n`]]);
      const per = (await c.runAndReadAll(`SELECT event, count(*)::INTEGER FROM read_parquet('${allPath}') GROUP BY 1 ORDER BY 1`)).getRows();
      assert.deepEqual(per, stats.byEvent.map((e) => [e.event, e.count]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
      const rows = (await c.runAndReadAll(`SELECT ts, prev_pid, prev_state, next_pid, next_comm FROM read_parquet('${swPath}')`)).getRows();
      assert.deepEqual(rows.map((r) => r.map(String).join(' ')).sort(), [...switches].sort());
    } finally {
      c.closeSync();
      db.closeSync();
    }
  });
});
