import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, lkst } from '../helpers/cli.js';
import { captureWithTraceCmd, type TraceCmdCapture } from './tracecmd-capture.js';
import { eventOfLine, reportText } from './report-output.js';

/**
 * Events whose text may differ from trace-cmd's (field-equal only). Kept explicit and empty: every
 * event recorded here must print exactly as `trace-cmd report` prints it.
 */
const TEXT_MAY_DIFFER = new Set<string>();

let cap: TraceCmdCapture;
before(() => {
  cap = captureWithTraceCmd('agree', 8192);
});
after(() => cap?.cleanup());

test('lkst report prints a trace-cmd file line for line as trace-cmd report does', async () => {
  const { text, summary } = await reportText(cap.dir, cap.path);
  const ours = text.split('\n');
  const theirs = cap.report.split('\n');
  const names = new Set<string>();
  const mismatches: string[] = [];
  for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
    const a = ours[i];
    const b = theirs[i];
    if (a === b) {
      const n = b !== undefined ? eventOfLine(b) : undefined;
      if (n) names.add(n);
      continue;
    }
    const n = b !== undefined ? eventOfLine(b) : undefined;
    if (n && TEXT_MAY_DIFFER.has(n) && a !== undefined && eventOfLine(a) === n) continue;
    if (mismatches.length < 10) mismatches.push(`line ${i + 1}:\n  trace-cmd: ${b}\n  lkst:      ${a}`);
    else break;
  }
  assert.deepEqual(mismatches, [], mismatches.join('\n'));
  assert.equal(ours.length, theirs.length);
  // The comparison covered the event families (sched, irq, timer, syscalls, kmem).
  const families = [
    ['sched_switch'],
    ['sched_waking', 'sched_wakeup'],
    ['irq_handler_entry', 'softirq_entry', 'softirq_raise', 'local_timer_entry'],
    ['hrtimer_start', 'hrtimer_expire_entry', 'timer_start', 'timer_expire_entry'],
    ['sys_enter', 'sys_exit'],
    ['kmalloc', 'kmem_cache_alloc', 'kfree', 'kmem_cache_free', 'mm_page_alloc'],
    ['print'],
  ];
  for (const family of families) {
    assert.ok(family.some((n) => names.has(n)), `none of ${family.join(', ')} was compared (saw ${names.size} kinds)`);
  }
  assert.ok(names.size >= 40, `only ${names.size} kinds of events compared`);
  assert.ok(summary.printed > 1000 && summary.printed === summary.records, `printed ${summary.printed} of ${summary.records}`);
  assert.equal(summary.corruptPages, 0);
});

test('the same trace converted to v6 and to uncompressed v7 prints the same as trace-cmd prints it', async () => {
  for (const [name, args] of [
    ['v6.dat', ['--file-version', '6']],
    ['plain.dat', ['--compression', 'none']],
  ] as const) {
    const path = join(cap.dir, name);
    const conv = spawnSync('trace-cmd', ['convert', '-i', cap.path, ...args, '-o', path], { encoding: 'utf8' });
    assert.equal(conv.status, 0, conv.stderr);
    const theirs = spawnSync('trace-cmd', ['report', path], { encoding: 'latin1', maxBuffer: 1 << 30 });
    const { text } = await reportText(cap.dir, path);
    assert.ok(text === theirs.stdout, `${name}: lkst and trace-cmd differ`);
    assert.ok(text.split('\n').length > 1000);
  }
});

test('lost events print as trace-cmd prints them', async () => {
  const small = captureWithTraceCmd('lost', 16);
  try {
    const { text, summary } = await reportText(small.dir, small.path);
    const dropped = (t: string): string[] => t.split('\n').filter((l) => /CPU:\d+ \[(\d+ )?EVENTS DROPPED\]/.test(l));
    const theirs = dropped(small.report);
    assert.ok(theirs.length > 0, 'a 16 KB buffer should have lost events under this workload');
    assert.deepEqual(dropped(text), theirs);
    assert.ok(summary.loss.cpus.some((c) => c.lost > 0 || !c.exact));
    assert.equal(text, small.report);
    // Worker threads rendering all but the first time range place the losses the same way.
    const many = await reportText(small.dir, small.path, { threads: 2, mainRanges: 1 });
    assert.ok(many.text === text, 'with worker threads the text differs');
    assert.deepEqual(many.summary, summary);
  } finally {
    small.cleanup();
  }
});

test('a file lkst record wrote prints exactly as trace-cmd report prints it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-report-own-'));
  try {
    const path = join(dir, 'own.dat');
    const r = lkst(['record', '-q', '-e', 'sched:*', '-e', 'irq:*', '-e', 'timer:*', '-e', 'raw_syscalls:*', '-e', 'kmem:*', '-e', 'signal:*', '-o', path, '--', 'sh', '-c', 'ls -R /usr/lib >/dev/null; sleep 0.05; kill -0 $$']);
    assert.equal(r.status, 0, r.stderr);
    const theirs = spawnSync('trace-cmd', ['report', path], { encoding: 'latin1', maxBuffer: 1 << 30 });
    assert.equal(theirs.status, 0, theirs.stderr);
    const { text, summary } = await reportText(dir, path);
    assert.ok(summary.printed > 100, `only ${summary.printed} events`);
    const a = text.split('\n');
    const b = theirs.stdout.split('\n');
    const first = a.findIndex((l, i) => l !== b[i]);
    assert.equal(first, -1, `line ${first + 1}:\n  trace-cmd: ${b[first]}\n  lkst:      ${a[first]}`);
    assert.equal(a.length, b.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the worker threads print exactly what one thread prints, whole and filtered, with the same summary', async (t) => {
  const pids = [...cap.report.matchAll(/-(\d+)\s+\[\d{3}\]/g)].map((m) => Number(m[1]));
  const busiest = [...pids.reduce((m, p) => m.set(p, (m.get(p) ?? 0) + 1), new Map<number, number>())].sort((a, b) => b[1] - a[1])[0]![0];
  const cases: Omit<Parameters<typeof reportText>[2], 'threads'>[] = [{}, { events: ['sched:*', 'irq:*'] }, { pid: busiest }, { cpu: 0 }];
  for (const opts of cases) {
    const one = await reportText(cap.dir, cap.path, { ...opts, threads: 0 });
    for (const threads of [1, 2]) {
      const many = await reportText(cap.dir, cap.path, { ...opts, threads });
      assert.ok(many.text === one.text, `${JSON.stringify(opts)} with ${threads} worker(s): the text differs`);
      assert.deepEqual(many.summary, one.summary);
      // The main thread keeps only the first time range: the workers' ranges are printed.
      let shared: { main: number; workers: number; used: boolean; why?: string } | undefined;
      const theirs = await reportText(cap.dir, cap.path, { ...opts, threads, mainRanges: 1, onRanges: (r) => (shared = r) });
      assert.ok(theirs.text === one.text, `${JSON.stringify(opts)} with ${threads} worker(s) rendering all but the first range: the text differs`);
      assert.deepEqual(theirs.summary, one.summary);
      // A task named by an event of the first range (an exec) makes the workers' names unsure: then
      // this thread prints it all, rightly, and the test says so. Any other reason is a defect.
      if (shared && !shared.used && /name was learned/.test(shared.why ?? '')) t.diagnostic(`${JSON.stringify(opts)}: ${shared.why}; printed by the main thread`);
      else assert.ok(shared && shared.main === 1 && shared.workers > 1 && shared.used, `the workers' ranges were not used: ${JSON.stringify(shared)}`);
    }
    if (!Object.keys(opts).length) assert.equal(one.text, cap.report);
    assert.ok(one.summary.printed > 0, `${JSON.stringify(opts)} printed nothing`);
  }
});

test('a trace of AUTO_WORKER_BYTES or more takes a worker thread by itself and prints the same', async (t) => {
  if (availableParallelism() < 2) return t.skip('one CPU: a report never takes a worker by itself');
  // How the ranges were shared, as the last report said (none: no worker was taken).
  type Shared = { main: number; workers: number; used: boolean; why?: string };
  const seen: { r?: Shared } = {};
  const onRanges = (r: Shared): void => void (seen.r = r);
  const small = await reportText(cap.dir, cap.path, { onRanges });
  assert.ok(!seen.r, 'a small trace took a worker');
  assert.ok(small.text === cap.report);
  // The same file counted as big (the threshold lowered), its main thread keeping the first range only.
  const big = await reportText(cap.dir, cap.path, { autoWorkerBytes: 1, mainRanges: 1, onRanges });
  assert.ok(big.text === cap.report, 'with the worker taken by size the text differs from trace-cmd\'s');
  assert.deepEqual(big.summary, small.summary);
  // (seen.r was set by the report in between: TypeScript still holds it undefined from the check above.)
  const shared = seen.r as Shared | undefined;
  assert.ok(shared, 'no worker was taken');
  if (!shared.used && /name was learned/.test(shared.why ?? '')) t.diagnostic(`${shared.why}; printed by the main thread`);
  else assert.ok(shared.used && shared.workers > 1, `the worker's ranges were not used: ${JSON.stringify(shared)}`);
  // LKST_REPORT_THREADS=0 keeps it to this thread whatever the size.
  const env = process.env.LKST_REPORT_THREADS;
  process.env.LKST_REPORT_THREADS = '0';
  try {
    delete seen.r;
    await reportText(cap.dir, cap.path, { autoWorkerBytes: 1, onRanges });
    assert.ok(!seen.r, 'LKST_REPORT_THREADS=0 took a worker');
  } finally {
    if (env === undefined) delete process.env.LKST_REPORT_THREADS;
    else process.env.LKST_REPORT_THREADS = env;
  }
});

test('report into a pipe grows the pipe to 1 MiB when its text is longer than that, and prints the same', (t) => {
  assert.ok(cap.report.length > 2 << 20, `the capture's text is only ${cap.report.length} bytes`);
  if (spawnSync('python3', ['-c', '0']).status !== 0) return t.skip('python3 (which asks the pipe its size) is missing');
  // The reader takes everything, then asks its stdin pipe how big it is (F_GETPIPE_SZ = 1032).
  const reader = 'import fcntl, hashlib, sys; d = sys.stdin.buffer.read(); print(fcntl.fcntl(0, 1032), len(d), hashlib.sha1(d).hexdigest())';
  const run = (args: string): string[] => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" ${args} | python3 -c "${reader}"`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split(' ');
  };
  const [size, len, sum] = run(`report "${cap.path}"`);
  assert.equal(size, String(1 << 20), 'the pipe was not grown');
  assert.equal(Number(len), Buffer.byteLength(cap.report, 'latin1'));
  const theirs = spawnSync('sh', ['-c', `trace-cmd report "${cap.path}" 2>/dev/null | python3 -c "${reader}"`], { encoding: 'utf8' }).stdout.trim().split(' ');
  assert.equal(sum, theirs[2], 'the text through the pipe differs from trace-cmd\'s');
  // A short text leaves the pipe as it was.
  const [smallSize] = run(`report --cpu 0 -e sched:sched_switch "${cap.path}"`);
  assert.equal(smallSize, '65536');
});
