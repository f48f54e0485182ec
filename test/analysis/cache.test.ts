// The caches beside a trace (lkst query's tables, lkst state's span and losses): the same answers as
// decoding the trace, on a recording from this kernel that lost events; rebuilt when the file changes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { openTraceDb, type TraceDb } from '../../src/analysis/query/database.js';
import { openCachedTraceDb } from '../../src/analysis/query/cached.js';
import { runQuery } from '../../src/analysis/query/run.js';
import { cacheDirOf, cacheInfo, clearCache } from '../../src/analysis/cache/location.js';
import { stateAt } from '../../src/analysis/state.js';
import { summaryCheckpoint, traceSummary } from '../../src/analysis/cache/summary.js';
import { scanLosses } from '../../src/analysis/losses.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { toJsonText } from '../../src/analysis/event.js';
import { ANALYSIS_EVENTS, recordTrace, type RecordedTrace } from './record-trace.js';
import { CLI as cli } from '../helpers/cli.js';

const lkst = (env: NodeJS.ProcessEnv, ...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

const QUERIES = [
  'SELECT buffer, cpu, events, lost, lost_exact, lost_before FROM cpus ORDER BY ALL',
  'SELECT ts, buffer, cpu, count FROM lost ORDER BY ALL',
  'SELECT event, buffer, cpu, count(*) AS n, min(ts) AS first, max(ts) AS last FROM events GROUP BY ALL ORDER BY ALL',
  'SELECT * FROM sched_switch ORDER BY ALL',
  'SELECT pid, comm, events, run_ns, switches, last_state FROM tasks ORDER BY ALL',
  'SELECT name, buffer, count(*) FROM sys_enter GROUP BY ALL ORDER BY ALL',
];

async function answer(db: TraceDb, sql: string): Promise<string> {
  let out = '';
  await runQuery(db.conn, sql, 'json', (s) => (out += s));
  return out;
}

async function answers(open: () => Promise<TraceDb>): Promise<{ out: string[]; db: TraceDb }> {
  const db = await open();
  try {
    const out: string[] = [];
    for (const q of QUERIES) out.push(await answer(db, q));
    return { out, db };
  } finally {
    db.close();
  }
}

describe('lkst query cache', () => {
  let rec: RecordedTrace;
  let trace: OpenedTrace;
  let uncached: string[];

  before(async () => {
    rec = await recordTrace(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=100000', 'status=none'], ANALYSIS_EVENTS, { bufferKb: 16 });
    trace = openTrace(rec.path);
    uncached = (await answers(() => openTraceDb(trace, QUERIES))).out;
  });
  after(() => {
    trace?.close();
    if (rec) clearCache(rec.path);
    rec?.cleanup();
  });

  test('the recording lost events, so lost and cpus hold them', () => {
    const lost = JSON.parse(uncached[1]!) as unknown[];
    assert.ok(lost.length > 0, 'a storm into a 16 KiB buffer loses events');
    const cpus = JSON.parse(uncached[0]!) as { lost: number }[];
    assert.ok(cpus.some((c) => c.lost > 0));
  });

  test('built once, then read from the cache: the same answers both times as uncached', async () => {
    const first = await answers(() => openCachedTraceDb(trace, QUERIES));
    assert.ok(existsSync(cacheDirOf(rec.path)));
    assert.deepEqual((first.db as Awaited<ReturnType<typeof openCachedTraceDb>>).built.sort(), ['cpus', 'events', 'lost', 'sched_switch', 'sys_enter', 'tasks']);
    assert.deepEqual(first.out, uncached);
    const second = await answers(() => openCachedTraceDb(trace, QUERIES));
    assert.deepEqual((second.db as Awaited<ReturnType<typeof openCachedTraceDb>>).built, []);
    assert.deepEqual(second.out, uncached);
  });

  test('a query that writes does not change the cache', async () => {
    const db = await openCachedTraceDb(trace, ['SELECT * FROM sched_switch']);
    try {
      await assert.rejects(() => answer(db, 'DELETE FROM sched_switch'));
      await answer(db, 'CREATE TABLE mine AS SELECT 1 AS x');
    } finally {
      db.close();
    }
    assert.deepEqual((await answers(() => openCachedTraceDb(trace, QUERIES))).out, uncached);
  });

  test('state from the cached summary equals state replayed alone, at the first, last and middle times', () => {
    clearCache(rec.path);
    const built = traceSummary(trace);
    const cached = traceSummary(trace);
    const alone = scanLosses(trace);
    assert.ok(alone.any, 'the recording lost events');
    let span = [Number.NaN, Number.NaN];
    const events = forEachEvent(trace, { event: (ev) => void (span = [Number.isNaN(span[0]!) ? ev.ts : span[0]!, ev.ts]) });
    for (const s of [built, cached]) {
      assert.deepEqual(s.losses.all, alone.all);
      assert.deepEqual([s.first, s.last, s.events], [...span, events]);
    }
    const { first, last } = cached;
    assert.ok(first < last);
    for (const at of [first, first + (last - first) / 3, (first + last) / 2, last, Infinity]) {
      assert.equal(toJsonText(stateAt(trace, at, { losses: cached.losses })), toJsonText(stateAt(trace, at)), `at ${at}`);
    }
  });

  test('state resumed from a checkpoint equals state replayed from the start, at checkpoints, between them and at the end', () => {
    clearCache(rec.path);
    // Small steps so this trace has many checkpoints, some after its losses.
    const built = traceSummary(trace, { every: 5000 });
    const cached = traceSummary(trace);
    assert.deepEqual(cached.checkpoints, built.checkpoints);
    const cps = cached.checkpoints;
    assert.ok(cps.length >= 4, `${cps.length} checkpoints`);
    assert.ok(cps.some((c) => cached.losses.overlaps(cached.first, c.ts)), 'a checkpoint comes after a loss');
    const mid = (a: number, b: number) => Math.floor((a + b) / 2);
    const times = [cps[0]!.ts, cps[0]!.ts + 1, mid(cps[1]!.ts, cps[2]!.ts), cps[cps.length - 1]!.ts, mid(cps[cps.length - 1]!.ts, cached.last), cached.last, Infinity];
    for (const at of times) {
      const from = summaryCheckpoint(cached, at);
      assert.ok(from, `a checkpoint before ${at}`);
      assert.ok(from.stream.ts <= at);
      assert.equal(toJsonText(stateAt(trace, at, { losses: cached.losses, from })), toJsonText(stateAt(trace, at)), `at ${at}`);
    }
    assert.equal(summaryCheckpoint(cached, cached.first), undefined, 'none before the first checkpoint');
  });

  test('the CLI: state --at the same with and without the cache, first run and next; a changed trace rebuilds the checkpoints', () => {
    clearCache(rec.path);
    const { first, last } = traceSummary(trace, { cache: false });
    const ats = [0.1, 0.5, 0.9].map((f) => `${((first + (last - first) * f) / 1e9).toFixed(6)}`).concat('end');
    const plain = ats.map((at) => lkst({}, 'state', rec.path, '--at', at, '--json', '--no-cache'));
    for (const p of plain) assert.equal(p.status, 0, p.stderr);
    assert.equal(existsSync(cacheDirOf(rec.path)), false);
    for (let run = 0; run < 2; run++) ats.forEach((at, i) => assert.equal(lkst({}, 'state', rec.path, '--at', at, '--json').stdout, plain[i]!.stdout, `run ${run} at ${at}`));
    const files = () => readdirSync(cacheDirOf(rec.path)).filter((f) => f.startsWith('state-'));
    assert.ok(files().length > 0, 'checkpoints were written');
    assert.match(lkst({}, 'cache', 'show', rec.path).stdout, /state checkpoints: \d+/);
    const later = new Date(Date.now() + 10_000);
    utimesSync(rec.path, later, later);
    assert.equal(cacheInfo(rec.path)[0]?.current, false);
    assert.equal(lkst({}, 'state', rec.path, '--at', ats[1]!, '--json').stdout, plain[1]!.stdout);
    assert.equal(cacheInfo(rec.path)[0]?.current, true);
    assert.ok(files().length > 0, 'rebuilt');
  });

  test('a changed trace (mtime) empties the cache and rebuilds it; clear removes it', async () => {
    const later = new Date(Date.now() + 5000);
    utimesSync(rec.path, later, later);
    assert.equal(cacheInfo(rec.path)[0]?.current, false);
    const again = await openCachedTraceDb(trace, [QUERIES[0]!]);
    again.close();
    assert.deepEqual(again.built, ['cpus']);
    assert.equal(cacheInfo(rec.path)[0]?.current, true);
    const gone = clearCache(rec.path);
    assert.ok(gone.length === 1 && gone[0]!.bytes > 0);
    assert.equal(existsSync(cacheDirOf(rec.path)), false);
  });

  test('the CLI: query builds the cache, --no-cache leaves none, stats shows it, cache clear removes it; a read-only directory uses LKST_CACHE_DIR', () => {
    clearCache(rec.path);
    const sql = QUERIES[0]!;
    const plain = lkst({}, 'query', rec.path, sql, '--no-cache', '--csv');
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(existsSync(cacheDirOf(rec.path)), false);
    for (let i = 0; i < 2; i++) assert.equal(lkst({}, 'query', rec.path, sql, '--csv').stdout, plain.stdout);
    assert.match(lkst({}, 'stats', rec.path).stdout, new RegExp(`cache: ${cacheDirOf(rec.path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d`));
    assert.match(lkst({}, 'cache', 'clear', rec.path).stdout, /^removed /);
    assert.equal(existsSync(cacheDirOf(rec.path)), false);
    assert.match(lkst({}, 'stats', rec.path).stdout, /cache: none/);
    // A directory lkst may not write (a read-only bind mount: even root cannot): the cache goes under LKST_CACHE_DIR.
    const base = mkdtempSync(join(tmpdir(), 'lkst-ro-'));
    const shared = join(base, 'shared');
    const src = join(base, 'src');
    const ro = join(base, 'ro');
    mkdirSync(src);
    mkdirSync(ro);
    copyFileSync(rec.path, join(src, 'trace.dat'));
    let mounted = false;
    try {
      assert.equal(spawnSync('mount', ['--bind', src, ro]).status, 0);
      mounted = true;
      assert.equal(spawnSync('mount', ['-o', 'remount,ro,bind', ro]).status, 0);
      const roTrace = join(ro, 'trace.dat');
      const env = { LKST_CACHE_DIR: shared };
      assert.equal(lkst(env, 'query', roTrace, sql, '--csv').stdout, plain.stdout);
      const [dir] = readdirSync(shared);
      assert.match(lkst(env, 'stats', roTrace).stdout, new RegExp(`cache: ${join(shared, dir!)} `));
      assert.equal(lkst(env, 'query', roTrace, sql, '--csv').stdout, plain.stdout);
      assert.match(lkst(env, 'cache', 'clear').stdout, new RegExp(`removed ${shared}`));
      assert.equal(existsSync(shared), false);
    } finally {
      if (mounted) spawnSync('umount', [ro]);
      rmSync(base, { recursive: true, force: true });
    }
  });
});
