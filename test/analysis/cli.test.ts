// The analysis commands as a user runs them, on a trace recorded from this kernel: output agrees
// with the library, bad input gives one line and a non-zero exit, `view` serves and stops cleanly.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTrace } from '../../src/analysis/open.js';
import { traceStats, type TraceStats } from '../../src/analysis/stats.js';
import { fmtTs } from '../../src/analysis/time.js';
import { recordTrace, sleeperScript, type RecordedTrace } from './record-trace.js';
import { CLI as cli } from '../helpers/cli.js';

const lkst = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });

describe('analysis commands', () => {
  let rec: RecordedTrace;
  let stats: TraceStats;
  let out: string;

  before(async () => {
    rec = await recordTrace(sleeperScript('/dev/null', 3, 0.02));
    const t = openTrace(rec.path);
    try {
      stats = traceStats(t);
    } finally {
      t.close();
    }
    out = mkdtempSync(join(tmpdir(), 'lkst-cli-'));
  });
  after(() => {
    rec?.cleanup();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('stats --json equals the library; the text form lists every event type', () => {
    const r = lkst('stats', rec.path, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as TraceStats;
    assert.equal(j.events, stats.events);
    assert.deepEqual(j.byEvent, stats.byEvent);
    const text = lkst('stats', rec.path).stdout;
    for (const e of stats.byEvent) assert.ok(text.includes(e.event), e.event);
  });

  test('state --pid, --comm and --alive narrow the tasks listed', () => {
    type St = { tasks: { pid: number; comm: string; state: string }[] };
    const all = JSON.parse(lkst('state', rec.path, '--at', 'end', '--json').stdout) as St;
    const sleeper = all.tasks.find((t) => t.comm === 'sleep');
    assert.ok(sleeper, 'the workload\'s sleep is a task of the trace');
    const byPid = JSON.parse(lkst('state', rec.path, '--at', 'end', '--json', '--pid', String(sleeper.pid)).stdout) as St;
    assert.deepEqual(byPid.tasks.map((t) => t.pid), [sleeper.pid]);
    const byComm = JSON.parse(lkst('state', rec.path, '--at', 'end', '--json', '--comm', 'slee').stdout) as St;
    assert.ok(byComm.tasks.length > 0 && byComm.tasks.every((t) => t.comm.includes('slee')));
    assert.deepEqual(byComm.tasks.map((t) => t.pid).sort(), all.tasks.filter((t) => t.comm.includes('slee')).map((t) => t.pid).sort());
    const alive = JSON.parse(lkst('state', rec.path, '--at', 'end', '--json', '--alive').stdout) as St;
    assert.deepEqual(alive.tasks.map((t) => t.pid).sort(), all.tasks.filter((t) => t.state !== 'dead').map((t) => t.pid).sort());
    assert.ok(all.tasks.some((t) => t.state === 'dead'), 'the workload\'s processes exited before the end');
    const bad = lkst('state', rec.path, '--at', 'end', '--pid', 'abc');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /^lkst: --pid abc is not a process id/);
  });

  test('state names the maskset recorded and gives timer expiries in seconds', () => {
    const file = join(out, 'timer.dat');
    const r = lkst('record', '-m', 'timer', '-d', '1', '-o', file);
    assert.equal(r.status, 0, r.stderr);
    const st = lkst('state', file, '--at', 'end');
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /^Maskset in force: timer$/m);
    const rows = st.stdout.split('Pending timers')[1]!.split('\n').slice(2).filter(Boolean);
    assert.ok(rows.length > 0, 'timers are pending at the end');
    for (const row of rows) assert.match(row, /\s\d+\.\d{6} \((in|.* overdue)/, `expiry in seconds: ${row}`);
  });

  test('state at +OFFSET and at end; analyze latency and timers run', () => {
    const mid = lkst('state', rec.path, '--at', `+${(stats.spanNs / 2e9).toFixed(6)}s`, '--json');
    assert.equal(mid.status, 0, mid.stderr);
    const st = JSON.parse(mid.stdout) as { at: number; cpus: unknown[]; tasks: unknown[] };
    assert.ok(Math.abs(st.at - (stats.firstTs + stats.spanNs / 2)) < 1000);
    assert.equal(st.cpus.length, stats.byCpu.length);
    const end = JSON.parse(lkst('state', rec.path, '--at', 'end', '--json').stdout) as { at: number };
    assert.equal(end.at, stats.lastTs);
    const lat = lkst('analyze', 'latency', rec.path);
    assert.equal(lat.status, 0, lat.stderr);
    assert.match(lat.stdout, /^Wakeup to run: \d+ wakeups/m);
    assert.match(lat.stdout, /^clock_nanosleep\s+\d/m);
    assert.match(lkst('analyze', 'latency', rec.path, '--task', 'sleep').stdout, /^Wakeup to run of sleep:\d+: [1-9]\d* wakeups/m);
    const tim = lkst('analyze', 'timers', rec.path, '--json');
    assert.equal(tim.status, 0, tim.stderr);
    assert.ok((JSON.parse(tim.stdout) as { timers: unknown[] }).timers.length > 0);
  });

  test('query prints a table, CSV and JSON', () => {
    const sql = 'SELECT cpu, count(*) AS n FROM events GROUP BY cpu ORDER BY cpu';
    const csv = lkst('query', rec.path, sql, '--csv');
    assert.equal(csv.status, 0, csv.stderr);
    assert.equal(csv.stdout, 'cpu,n\n' + stats.byCpu.map((c) => `${c.cpu},${c.events}\n`).join(''));
    assert.deepEqual(JSON.parse(lkst('query', rec.path, sql, '--json').stdout), stats.byCpu.map((c) => ({ cpu: c.cpu, n: c.events })));
    assert.match(lkst('query', rec.path, sql).stdout, /^cpu\s+n\n/);
  });

  test('export writes each format', () => {
    for (const to of ['perfetto', 'chrome-json', 'csv', 'parquet']) {
      const path = join(out, `t.${to}`);
      const r = lkst('export', rec.path, '--to', to, '-o', path);
      assert.equal(r.status, 0, `${to}: ${r.stderr}`);
      assert.ok(readFileSync(path).length > 0, to);
    }
  });

  test('bad input: one line, non-zero exit, no stack trace', () => {
    const cases = [
      lkst('stats', join(out, 'missing.dat')),
      lkst('state', rec.path, '--at', 'yesterday'),
      lkst('export', rec.path, '--to', 'svg', '-o', join(out, 'x')),
      lkst('query', rec.path, 'SELECT * FROM no_such_table'),
      lkst('stats', '/etc/hostname'),
    ];
    for (const r of cases) {
      assert.notEqual(r.status, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^lkst: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  test('export to a directory and state --at outside the trace are refused in one line', () => {
    const dir = lkst('export', rec.path, '--to', 'csv', '-o', out);
    assert.equal(dir.stderr, `lkst: ${out} is a directory: give a file name for the output, e.g. -o ${join(out, 'trace.csv')}\n`);
    assert.notEqual(dir.status, 0);
    const span = `give a time from ${fmtTs(stats.firstTs)} to ${fmtTs(stats.lastTs)}`;
    const late = lkst('state', rec.path, '--at', `${((stats.lastTs + 1e9) / 1e9).toFixed(6)}`);
    assert.notEqual(late.status, 0);
    assert.match(late.stderr, /^lkst: --at \S+ is after the trace's last event \(\d+\.\d{6}\): /);
    assert.ok(late.stderr.includes(span), late.stderr);
    const offset = lkst('state', rec.path, '--at', `+${(stats.spanNs / 1e9 + 1).toFixed(6)}s`);
    assert.match(offset.stderr, /is after the trace's last event/);
    const early = lkst('state', rec.path, '--at', '1');
    assert.match(early.stderr, /^lkst: --at 1 is before the trace's first event \(\d+\.\d{6}\): /);
    for (const r of [dir, late, offset, early]) {
      assert.notEqual(r.status, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    const edge = lkst('state', rec.path, '--at', `${(stats.lastTs / 1e9).toFixed(9)}`, '--json');
    assert.equal(edge.status, 0, `the last event's own time is inside the trace: ${edge.stderr}`);
  });

  test('view prints a 127.0.0.1 URL that serves the page, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [cli, 'view', rec.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve(buf.trim());
        });
        child.on('exit', (code) => reject(new Error(`view exited ${code}`)));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<canvas id="cv">/);
      assert.equal((await fetch(url.replace(/\?token=.*/, ''))).status, 403);
    } finally {
      const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      assert.equal(await done, 0);
    }
  });
});
