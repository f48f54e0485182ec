import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { captureWithTraceCmd, type TraceCmdCapture } from './tracecmd-capture.js';
import { eventOfLine, reportText } from './report-output.js';
import { closeSync, copyFileSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFile, reportTrace } from '../../src/analysis/report/index.js';
import { openTraceDat } from '../../src/file/reader.js';

let cap: TraceCmdCapture;
let full: string[];
before(async () => {
  cap = captureWithTraceCmd('filters');
  full = (await reportText(cap.dir, cap.path)).text.split('\n').filter((l) => eventOfLine(l));
});
after(() => cap?.cleanup());

function body(text: string): string[] {
  return text.split('\n').filter((l) => eventOfLine(l));
}

test('-e keeps exactly the named events (system:event, LKST names, globs)', async () => {
  const switches = full.filter((l) => eventOfLine(l) === 'sched_switch');
  assert.ok(switches.length > 0);
  for (const names of [['sched:sched_switch'], ['PROCESS_CONTEXTSWITCH'], ['sched:sched_sw*']]) {
    const { text, summary } = await reportText(cap.dir, cap.path, { events: names });
    assert.deepEqual(body(text), switches, names.join(','));
    assert.equal(summary.printed, switches.length);
  }
  const sched = full.filter((l) => /^sched_/.test(eventOfLine(l)!));
  const { text } = await reportText(cap.dir, cap.path, { events: ['sched:*'] });
  assert.deepEqual(body(text).filter((l) => !/^sched_/.test(eventOfLine(l)!)), []);
  // sched:* also holds events whose names do not start with sched_ on some kernels; all sched_* ones are there.
  assert.deepEqual(body(text).filter((l) => /^sched_/.test(eventOfLine(l)!)), sched);
  await assert.rejects(reportText(cap.dir, cap.path, { events: ['sched:no_such_event'] }), /no_such_event|none of the events/);
});

test('--cpu and --pid keep that CPU\'s and that task\'s events, in the same order and text', async () => {
  for (const cpu of [0, 1]) {
    const want = full.filter((l) => l.includes(` [${String(cpu).padStart(3, '0')}] `));
    const { text } = await reportText(cap.dir, cap.path, { cpu });
    assert.deepEqual(body(text), want, `cpu ${cpu}`);
  }
  const pidOf = (l: string): number => Number(/-(\d+)\s+\[\d{3}\]/.exec(l)![1]);
  const counts = new Map<number, number>();
  for (const l of full) counts.set(pidOf(l), (counts.get(pidOf(l)) ?? 0) + 1);
  const pid = [...counts].filter(([p]) => p !== 0).sort((a, b) => b[1] - a[1])[0]![0];
  const { text } = await reportText(cap.dir, cap.path, { pid });
  const got = body(text);
  assert.equal(got.length, counts.get(pid));
  assert.ok(got.every((l) => pidOf(l) === pid));
});

test('--json prints one object per event with its fields', async () => {
  const { text, summary } = await reportText(cap.dir, cap.path, { json: true });
  const objs = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const events = objs.filter((o) => 'event' in o);
  assert.equal(events.length, full.length);
  assert.equal(summary.printed, full.length);
  // Same order, CPU, pid and event name as the text report.
  for (let i = 0; i < full.length; i += Math.max(1, Math.floor(full.length / 500))) {
    const o = events[i]!;
    const line = full[i]!;
    assert.equal(eventOfLine(line), o.event);
    assert.ok(line.includes(` [${String(o.cpu).padStart(3, '0')}] `), `${line} vs cpu ${o.cpu}`);
    assert.ok(line.includes(`-${o.pid} `), `${line} vs pid ${o.pid}`);
    assert.equal(typeof o.ts, 'number');
    assert.equal(typeof o.system, 'string');
  }
  const sw = events.find((o) => o.event === 'sched_switch')!;
  const f = sw.fields as Record<string, unknown>;
  assert.equal(typeof f.prev_comm, 'string');
  assert.equal(typeof f.next_pid, 'number');
  const line = full[events.indexOf(sw)]!;
  assert.ok(line.includes(`${f.prev_comm}:${f.prev_pid} `) && line.includes(`==> ${f.next_comm}:${f.next_pid} `), line);
});

test('decodeFile reads every record into typed values', async () => {
  const names = new Map<string, number>();
  let lastTs = -Infinity;
  const n = decodeFile(cap.path, (r) => {
    assert.ok(r.ts >= lastTs);
    lastTs = r.ts;
    const name = r.format?.name ?? '?';
    names.set(name, (names.get(name) ?? 0) + 1);
    if (name === 'sched_switch') {
      const i = r.format!.fields.findIndex((f) => f.name === 'next_pid');
      assert.equal(typeof r.values[i], 'number');
    }
  });
  assert.equal(n, full.length);
  assert.equal(names.get('sched_switch'), full.filter((l) => eventOfLine(l) === 'sched_switch').length);
});

test('-e with an LKST event that is a filtered tracepoint keeps only the matching records', async () => {
  // MEM_DO_WPPAGE: page faults with error_code & 1 && error_code & 2 (write to a present page).
  const faults = full.filter((l) => /^page_fault_(user|kernel)$/.test(eventOfLine(l)!));
  const code = (l: string): number => Number(/error_code=(0x[0-9a-f]+)/.exec(l)![1]);
  const want = faults.filter((l) => code(l) & 1 && code(l) & 2);
  const { text } = await reportText(cap.dir, cap.path, { events: ['MEM_DO_WPPAGE'] });
  assert.deepEqual(body(text), want);
  assert.ok(faults.length > want.length, 'the filter should leave some page faults out');
});

test('compressed pages: the decompressing thread, this thread alone and both sharing print the same; a worker that fails leaves its runs to this thread', async () => {
  const shared = (await reportText(cap.dir, cap.path)).text; // this thread alone, the default
  const withEnv = async (mode: string, path = cap.path): Promise<string> => {
    process.env.LKST_PREFETCH = mode;
    try {
      return (await reportText(cap.dir, path)).text;
    } finally {
      delete process.env.LKST_PREFETCH;
    }
  };
  assert.equal(await withEnv('1'), shared);
  assert.equal(await withEnv('worker'), shared);
  const copy = join(cap.dir, 'gone.dat');
  copyFileSync(cap.path, copy);
  const tf = openTraceDat(copy);
  try {
    assert.notEqual(tf.compression, 'none', 'trace-cmd compresses by default');
    unlinkSync(copy); // the worker opens the file again and cannot
    const out = join(cap.dir, 'gone.txt');
    const fd = openSync(out, 'w');
    process.env.LKST_PREFETCH = 'worker';
    try {
      await reportTrace(tf, { out: fd });
    } finally {
      delete process.env.LKST_PREFETCH;
      closeSync(fd);
    }
    assert.equal(readFileSync(out, 'latin1'), shared);
  } finally {
    tf.close();
  }
});
