import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../../src/bench/bench.js';
import { median, quantile, summarize, overheadPercent, withinNoise } from '../../src/bench/stats.js';
import { renderFor } from '../../src/bench/output.js';
import { chooseTraceCmd, functionTracerRefusal, parseStatReport, traceCmdRecorder } from '../../src/bench/trace-cmd.js';
import type { LkstError } from '../../src/base/errors.js';
import { spreadPick } from '../../src/bench/workloads/build.js';
import { Instance } from '../../src/tracefs/instance.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { execFileSync } from 'node:child_process';
import type { BenchReport } from '../../src/bench/report.js';
import { CLI } from '../helpers/cli.js';

/** This process's instances (other suites may run alongside with their own). */
function lkstInstances(): Set<string> {
  return new Set(Instance.listNames().filter((n) => n.startsWith(`lkst-${process.pid}-`)));
}

test('statistics: medians, quartiles, spread and overhead signs', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  const s = summarize([10, 12, 11, 30, NaN]);
  assert.deepEqual([s.n, s.min, s.max, s.median], [4, 10, 30, 11.5]);
  assert.ok(s.q1 <= s.median && s.median <= s.q3);
  // Slower time and lower throughput are both positive overhead.
  assert.equal(Math.round(overheadPercent(11, 10, false)), 10);
  assert.equal(Math.round(overheadPercent(900, 1000, true)), 11);
  assert.ok(withinNoise(summarize([10, 11, 12]), summarize([10.5, 11.5, 12.5])));
  assert.ok(!withinNoise(summarize([20, 21, 22]), summarize([10, 11, 12])));
  assert.ok(Number.isNaN(summarize([]).median));
});

test('build workload picks objects spread over the whole tree', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const picked = spreadPick(items, 10);
  assert.equal(picked.length, 10);
  assert.equal(picked[0], 0);
  assert.ok(picked[9]! >= 90);
  assert.deepEqual(spreadPick(items.slice(0, 3), 10), [0, 1, 2]);
});

test('a short syscall bench on the real kernel: measured figures, every renderer, and a clean kernel after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-test-bench-'));
  const before = lkstInstances();
  try {
    const report = await runBench({ workloads: ['syscall'], masksets: ['off', 'default'], runs: 1, warmup: false, syscallCalls: 20000, workDir: dir });
    const w = report.results[0]!;
    assert.equal(w.workload, 'syscall');
    assert.deepEqual(w.conditions.map((c) => c.condition), ['none', 'off', 'default', 'default+self']);
    const none = w.conditions[0]!;
    const off = w.conditions[1]!;
    const def = w.conditions[2]!;
    const kept = w.conditions[3]!;
    // The same maskset with lkst's own events kept: its share is measured, and what leaving it out leaves.
    assert.ok(kept.selfKept && kept.selfPercent! > 0, `lkst's own events are seen when kept (${kept.selfPercent}%)`);
    assert.ok(def.selfPercent! < 0.1, `and under 0.1% when left out (${def.selfPercent}%)`);
    const cost = report.selfFilter!;
    assert.ok(cost.tasks > 1 && Number.isFinite(cost.nsPerEvent) && cost.nsPerCallWith > 0 && cost.nsPerCallWithout > 0, 'the filter cost was measured');
    assert.ok(none.metrics.nsPerCall!.median > 0, 'the loop was timed');
    assert.equal(off.events.median, 0, 'off records nothing');
    // 20000 getppid calls each make a sys_enter and a sys_exit under the default maskset.
    assert.ok(def.events.median + def.lost.median >= 40000, `default saw the syscalls (${def.events.median} + ${def.lost.median} lost)`);
    assert.ok(Number.isFinite(def.nsPerEvent!), 'cost per event is derived');
    assert.equal(report.samples.length, 4);
    checkRenderers(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const after = lkstInstances();
  for (const n of after) assert.ok(before.has(n), `instance ${n} was left behind`);
});

function checkRenderers(report: BenchReport): void {
  const json = JSON.parse(renderFor('r.json', report)) as BenchReport;
  assert.equal(json.results[0]!.conditions.length, report.results[0]!.conditions.length);
  assert.equal(json.machine.cpus, report.machine.cpus);
  const md = renderFor('r.md', report);
  assert.match(md, /^# lkst bench/m);
  assert.match(md, /\| lkst default \(\d+ tp\) \|/);
  const table = renderFor('r.txt', report);
  for (const c of ['none (no tracing)', 'lkst off', 'lkst default', "lkst's own events kept", "lkst's own", "Leaving lkst's own events out"]) assert.ok(table.includes(c), `table has ${c}`);
  assert.match(md, /Leaving lkst's own events out \(a filter on every event, \d+ tasks\): -?[\d.]+ ns per recorded event/);
  const svg = renderFor('r.svg', report);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<rect /g) ?? []).length, 1 + report.results[0]!.conditions.length, 'background and one bar per condition');
  assert.ok(!/NaN/.test(svg), 'no NaN in the chart');
}

// Debian's `trace-cmd record` dies on kernels that refuse the function-tracer files; the comparison
// runs where the wrapper beside the project (or LKST_TRACE_CMD) is there.
let canRecord = false;
try {
  canRecord = !!traceCmdRecorder();
} catch {
  /* no trace-cmd that can record here: the comparison test skips */
}

test('the trace-cmd to compare with: the check of this kernel decides, and a refusal says why and how to get one that can', () => {
  const refusal = functionTracerRefusal();
  const plain = '/usr/bin/trace-cmd';
  if (refusal) {
    // This kernel refuses the function-tracer files trace-cmd record opens (EPERM on these VMs).
    assert.match(refusal, /^the kernel refuses \S+\/set_ftrace_pid \(E[A-Z]+\)$/);
    assert.throws(
      () => chooseTraceCmd({ plain }, refusal),
      (err: LkstError) =>
        /^\/usr\/bin\/trace-cmd cannot record here: the kernel refuses .*set_ftrace_pid .*Can't enable ftrace/.test(err.what) && /LKST_TRACE_CMD/.test(err.fix),
    );
  } else assert.equal(chooseTraceCmd({ plain }, refusal), plain, 'a kernel that allows the files: plain trace-cmd records');
  assert.equal(chooseTraceCmd({ plain, wrapper: '/x/trace-cmd-here' }, refusal), '/x/trace-cmd-here', 'the wrapper records anyway');
  assert.equal(chooseTraceCmd({ plain, env: '/opt/tc' }, refusal), '/opt/tc', "the operator's choice wins");
  assert.throws(() => chooseTraceCmd({}, refusal), /trace-cmd is not installed/);
});

test('trace-cmd comparison records the same events in its own instance, never the top-level buffer', { skip: !canRecord && 'no trace-cmd that can record here' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-test-bench-'));
  try {
    const report = await runBench({ workloads: ['syscall'], masksets: ['syscall'], runs: 1, warmup: false, syscallCalls: 20000, compareTraceCmd: true, workDir: dir });
    const w = report.results[0]!;
    const tc = w.conditions.find((c) => c.kind === 'trace-cmd')!;
    const lk = w.conditions.find((c) => c.kind === 'lkst')!;
    assert.equal(tc.tracepoints, lk.tracepoints, 'same tracepoints');
    assert.ok(tc.events.median + tc.lost.median >= 40000, `trace-cmd saw the syscalls (${tc.events.median})`);
    assert.ok(tc.recorderCpuMs!.median > 0);
    for (const e of ['sys_enter', 'sys_exit']) assert.equal(tracefs().read(`events/raw_syscalls/${e}/enable`).trim(), '0', `raw_syscalls:${e} is on in the top-level buffer`);
    assert.deepEqual([...lkstInstances()], [], 'trace-cmd removed its instance');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('per-CPU statistics are read from a real trace-cmd file', { skip: !existsSync('/usr/bin/trace-cmd') && 'trace-cmd not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-test-bench-'));
  try {
    const out = join(dir, 'x.dat');
    execFileSync(process.execPath, [CLI, 'record', '-q', '-e', 'sched:sched_switch', '-o', out, '--', 'sleep', '0.2']);
    const text = execFileSync('trace-cmd', ['report', '--stat', out], { encoding: 'utf8' });
    const stats = parseStatReport(text);
    assert.ok(stats.length >= 1);
    assert.deepEqual(stats.map((s) => s.cpu), stats.map((_, i) => i));
    assert.ok(stats.reduce((a, s) => a + s.readEvents, 0) > 0, 'sleep switched at least once');
    assert.ok(readFileSync(out).length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
