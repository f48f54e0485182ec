// One trace, all of it, exactly: every consumer reads every buffer, and every command shows the
// same loss figures, equal to the kernel's own counter deltas read here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTrace } from '../../src/analysis/open.js';
import { traceStats } from '../../src/analysis/stats.js';
import { Segment } from '../../src/buffers/segment.js';
import { writeTraceDat } from '../../src/file/writer.js';
import { record } from '../../src/record/recorder.js';
import type { Instance } from '../../src/tracefs/instance.js';
import { lkst } from '../helpers/cli.js';
import { withInstance } from '../helpers/instance.js';

const STORM = ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=200000', 'status=none'];

function kernelLoss(inst: Instance): number {
  return inst.cpus().reduce((n, c) => n + inst.cpuStats(c).overrun + inst.cpuStats(c).droppedEvents, 0);
}

/** The lost figure of each command on one file: record's summary is compared by the caller. */
function lostByCommand(path: string): Record<string, number> {
  const out: Record<string, number> = {};
  const stats = lkst(['stats', '--json', path]);
  assert.equal(stats.status, 0, `${stats.signal} ${stats.error} ${stats.stderr}`);
  out.stats = JSON.parse(stats.stdout).lostTotal;
  const report = lkst(['report', path], { maxBuffer: 1 << 30 });
  assert.equal(report.status, 0, report.stderr);
  const m = /lkst: ([\d,]+) lost/.exec(report.stderr);
  out.report = m ? Number(m[1]!.replaceAll(',', '')) : 0;
  const q = lkst(['query', '--csv', path, 'SELECT coalesce(sum(lost), 0) AS n FROM cpus']);
  assert.equal(q.status, 0, q.stderr);
  out.query = Number(q.stdout.trim().split('\n')[1]);
  const dir = mkdtempSync(join(tmpdir(), 'lkst-csv-'));
  try {
    const csv = join(dir, 'e.csv');
    const e = lkst(['export', path, '--to', 'csv', '-o', csv]);
    assert.equal(e.status, 0, e.stderr);
    out.csv = readFileSync(csv, 'utf8')
      .split('\n')
      .filter((l) => /,lost,/.test(l))
      .reduce((n, l) => n + Math.max(0, Number(/count"":(\d+)/.exec(l)?.[1] ?? 0)), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

test('record --attach after an overrun: lost is what the kernel lost during the recording, the same in every command; earlier overruns are shown apart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-attach-'));
  try {
    await withInstance('attach-loss', async (inst) => {
      inst.bufferSizeKb = 8;
      // Only the storm's own events: nothing else on the machine moves the counters between our reads and the recorder's.
      inst.setFilter('raw_syscalls', 'sys_enter', 'comm == "dd"');
      inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
      inst.tracingOn = true;
      // The buffer wraps before anyone reads it: these overruns are before the recording.
      spawnSync(STORM[0]!, STORM.slice(1));
      const atStart = kernelLoss(inst);
      assert.ok(atStart > 0, 'the storm overran an 8 KiB buffer before the recording');
      const r = await record({ events: [], workDir: dir, attach: inst, command: STORM, pollMs: 50 });
      const atEnd = kernelLoss(inst);
      inst.tracingOn = false;
      const path = join(dir, 'attach.dat');
      await writeTraceDat(path, r.meta, r.cpus);
      r.discard();
      const during = atEnd - atStart;
      const got = lostByCommand(path);
      for (const [cmd, n] of Object.entries(got)) assert.equal(n, during, `${cmd} shows the kernel's delta (${during}), not its total (${atEnd})`);
      const s = traceStats(openTrace(path));
      assert.equal(s.lostBefore, atStart, 'what was overwritten before the recording is shown apart');
      assert.equal(s.lostExact, true);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file with two buffers (as logd writes them) is read completely: stats, query and CSV count what trace-cmd reports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-two-'));
  try {
    await withInstance('two-a', (a) =>
      withInstance('two-b', async (b) => {
        for (const inst of [a, b]) {
          inst.setEventEnabled('sched', 'sched_switch', true);
          inst.setEventEnabled('sched', 'sched_process_exec', true);
          inst.tracingOn = true;
        }
        const seg = new Segment([a, b], dir);
        spawnSync('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8; do /bin/true; sleep 0.01; done']);
        a.tracingOn = false;
        b.tracingOn = false;
        seg.drain();
        const path = join(dir, 'two.dat');
        const events = await seg.write(path, { kallsyms: false });
        const tc = spawnSync('trace-cmd', ['report', path], { encoding: 'utf8', maxBuffer: 1 << 28 });
        assert.equal(tc.status, 0, tc.stderr);
        const total = tc.stdout.split('\n').filter((l) => /\[\d{3}\] /.test(l)).length;
        assert.equal(total, events);
        const t = openTrace(path);
        try {
          assert.equal(t.buffers.length, 2);
          const s = traceStats(t);
          assert.equal(s.events, total, 'stats counts both buffers');
          assert.ok(s.buffers.every((x) => x.events > 0), 'each buffer has events');
          const one = traceStats(openTrace(path, { buffers: [t.buffers[1]!.name] }));
          assert.equal(one.events, s.buffers[1]!.events, '--buffer selects one');
        } finally {
          t.close();
        }
        const q = lkst(['query', '--csv', path, 'SELECT count(*) AS n, count(DISTINCT buffer) AS b FROM events']);
        assert.equal(q.status, 0, q.stderr);
        assert.equal(q.stdout.trim().split('\n')[1], `${total},2`);
        const csv = join(dir, 'two.csv');
        assert.equal(lkst(['export', path, '--to', 'csv', '-o', csv]).status, 0);
        assert.equal(readFileSync(csv, 'utf8').trim().split('\n').length - 1, total);
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
