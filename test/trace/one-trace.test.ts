// One trace, all of it, exactly: every consumer reads every buffer, and every command shows the
// same loss figures, equal to the kernel's own counter deltas read here.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { openTrace } from '../../src/analysis/open.js';
import { traceStats } from '../../src/analysis/stats.js';
import { dumpBuffer } from '../../src/buffers/dump.js';
import { LogDaemon } from '../../src/buffers/logd.js';
import { writeTraceDat } from '../../src/file/writer.js';
import { record } from '../../src/record/recorder.js';
import type { Instance } from '../../src/tracefs/instance.js';
import { lkst } from '../helpers/cli.js';
import { buildViewData } from '../../src/web/view-data.js';
import { startViewer } from '../../src/web/server.js';
import { chromiumMissing, launchChromium, paintedViewer } from '../web/browser.js';
import { withInstance } from '../helpers/instance.js';
import { withBufferNames } from '../buffers/helpers.js';
import { createBuffer } from '../../src/buffers/buffer.js';

// dd under a name of this test's own: other tests (run alongside) storm with dd too, and the
// buffers below record only this storm's syscalls, so nothing else moves their counters.
const STORM_COMM = `ddstorm${process.pid}`.slice(0, 15);
const STORM_BIN = join(mkdtempSync(join(tmpdir(), 'lkst-storm-')), STORM_COMM);
copyFileSync('/bin/dd', STORM_BIN);
after(() => rmSync(dirname(STORM_BIN), { recursive: true, force: true }));
const STORM = [STORM_BIN, 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=200000', 'status=none'];
const STORM_FILTER = `comm == "${STORM_COMM}"`;

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
    const pq = join(dir, 'lost.parquet');
    const p = lkst(['export', path, '--to', 'parquet', '--event', 'lost', '-o', pq]);
    assert.equal(p.status, 0, p.stderr);
    const back = lkst(['query', '--csv', path, `SELECT coalesce(sum(count), 0) AS n FROM read_parquet('${pq}')`]);
    assert.equal(back.status, 0, back.stderr);
    out.parquet = Number(back.stdout.trim().split('\n')[1]);
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
      inst.setFilter('raw_syscalls', 'sys_enter', STORM_FILTER);
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

/** An 8 KiB buffer recording only dd's syscalls (nothing else on the machine moves its counters), overrun by one storm. */
function overrunBuffer(inst: Instance): number {
  inst.bufferSizeKb = 8;
  inst.setFilter('raw_syscalls', 'sys_enter', STORM_FILTER);
  inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
  inst.tracingOn = true;
  spawnSync(STORM[0]!, STORM.slice(1));
  const n = kernelLoss(inst);
  assert.ok(n > 0, 'the storm overran an 8 KiB buffer');
  return n;
}

test('a fresh recording: record\'s summary, stats, report, SQL and CSV show one lost figure, the kernel\'s own counter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-fresh-'));
  try {
    const path = join(dir, 'fresh.dat');
    const r = lkst(['record', '-e', 'raw_syscalls:sys_enter', '-b', '8', '-o', path, '--', ...STORM]);
    assert.equal(r.status, 0, r.stderr);
    const summary = Number(/total [\d,]+ events in [\d.]+ s, ([\d,]+) lost/.exec(r.stderr)?.[1]?.replaceAll(',', ''));
    assert.ok(summary > 0, `an 8 KiB buffer lost events under a syscall storm: ${r.stderr}`);
    for (const [cmd, n] of Object.entries(lostByCommand(path))) assert.equal(n, summary, `${cmd} agrees with record's summary`);
    // A fresh buffer starts at zero: the figure is the kernel's counters at the end, as the file keeps them.
    const t = openTrace(path);
    try {
      const kernel = t.buffers[0]!.cpus.reduce((n, c) => n + (c.counters.end?.overrun ?? 0) + (c.counters.end?.dropped ?? 0), 0);
      assert.equal(summary, kernel);
    } finally {
      t.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('buffer dump of a wrapped buffer: what was overwritten before the dump is shown apart, never as lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-dump-'));
  try {
    await withInstance('dump-loss', async (inst) => {
      const atStart = overrunBuffer(inst);
      const path = join(dir, 'dump.dat');
      await dumpBuffer(inst, path, { writer: writeTraceDat, kallsyms: false });
      const during = kernelLoss(inst) - atStart;
      inst.tracingOn = false;
      for (const [cmd, n] of Object.entries(lostByCommand(path))) assert.equal(n, during, `${cmd}: lost during the dump only`);
      const s = traceStats(openTrace(path));
      assert.equal(s.lostBefore, atStart);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logd: each file carries what was lost in its own window; the windows add up to the kernel\'s counter growth', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-logd-loss-'));
  try {
    await withInstance('logd-loss', async (inst) => {
      const atStart = overrunBuffer(inst);
      const d = new LogDaemon({ buffers: [inst], writer: writeTraceDat, dir, kallsyms: false, pollMs: 50 });
      d.start();
      for (let i = 0; i < 3; i++) {
        spawnSync(STORM[0]!, STORM.slice(1));
        await d.rotate();
      }
      spawnSync(STORM[0]!, STORM.slice(1));
      const st = await d.stop();
      const atEnd = kernelLoss(inst);
      inst.tracingOn = false;
      assert.ok(st.files.length >= 3, `${st.files.length} files`);
      const figures = st.files.map((f) => traceStats(openTrace(f)));
      assert.equal(figures[0]!.lostBefore, atStart, 'the first file: what was overwritten before logd began');
      assert.equal(figures.reduce((n, f) => n + f.lostTotal, 0), atEnd - atStart, 'the windows add up to the growth');
      assert.ok(figures.every((f) => f.lostExact));
      for (const f of st.files) {
        const byCmd = lostByCommand(f);
        const own = traceStats(openTrace(f)).lostTotal;
        for (const [cmd, n] of Object.entries(byCmd)) assert.equal(n, own, `${cmd} of ${f}`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an lkst buffer per-process pair logged by logd is read completely: stats, state, query, CSV and the viewer count what trace-cmd reports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-two-'));
  try {
    await withBufferNames(['pair-proc', 'pair-rest'], async (procName, restName) => {
        // The seed's pair: one process (and its children) in a buffer, the rest of the system in another.
        const child = spawn('sh', ['-c', 'read go; for i in 1 2 3 4 5 6 7 8; do /bin/true; sleep 0.01; done'], { stdio: ['pipe', 'ignore', 'inherit'] });
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        const a = createBuffer(procName, { sizeKb: 1024, pids: [child.pid!], follow: true });
        const b = createBuffer(restName, { sizeKb: 1024, notPids: [child.pid!], follow: true });
        for (const inst of [a, b]) {
          inst.setEventEnabled('sched', 'sched_switch', true);
          inst.setEventEnabled('sched', 'sched_process_exec', true);
          inst.tracingOn = true;
        }
        const d = new LogDaemon({ buffers: [a, b], writer: writeTraceDat, dir, kallsyms: false, pollMs: 50 });
        d.start();
        child.stdin!.end('go\n');
        await exited;
        a.tracingOn = false;
        b.tracingOn = false;
        const st = await d.stop();
        assert.equal(st.files.length, 1);
        const path = st.files[0]!;
        const tc = spawnSync('trace-cmd', ['report', path], { encoding: 'utf8', maxBuffer: 1 << 28 });
        assert.equal(tc.status, 0, tc.stderr);
        const total = tc.stdout.split('\n').filter((l) => /\[\d{3}\] /.test(l)).length;
        assert.equal(total, st.eventsSaved);
        const t = openTrace(path);
        try {
          assert.equal(t.buffers.length, 2);
          const s = traceStats(t);
          assert.equal(s.events, total, 'stats counts both buffers');
          assert.ok(s.buffers.every((x) => x.events > 0), 'each buffer has events');
          const one = traceStats(openTrace(path, { buffers: [t.buffers[1]!.name] }));
          assert.equal(one.events, s.buffers[1]!.events, '--buffer selects one');
          // The viewer: every event, counted on its buffer's CPU track; a group per buffer.
          const view = buildViewData(t, 'two buffers');
          assert.equal(view.meta.events, total);
          assert.deepEqual(view.meta.buffers, t.buffers.map((b) => b.name));
          assert.equal(view.meta.cpuTracks.reduce((n, c) => n + c.events, 0), total);
          assert.deepEqual([...new Set(view.meta.cpuTracks.filter((c) => c.events > 0).map((c) => c.buffer))].sort(), [0, 1]);
          if (!chromiumMissing()) {
            const viewer = await startViewer(view);
            const browser = await launchChromium();
            try {
              const { page, errors } = await paintedViewer(browser.ctx, viewer.url);
              // The page's own state, as test/web reads it.
              type PageState = { lkst?: { rowsCount: number } };
              assert.deepEqual(errors, []);
              const rows = await page.evaluate(() => (window as unknown as PageState).lkst?.rowsCount);
              const threads = view.meta.processes.reduce((n, p) => n + p.threads.length, 0);
              const groups = view.meta.processes.filter((p) => p.threads.length > 1 || p.known).length;
              assert.equal(rows, 2 + 2 + view.meta.cpuTracks.length + groups + threads, 'markers, findings, a header per buffer, its CPUs, processes and threads');
            } finally {
              await browser.close();
              await viewer.close();
            }
          }
        } finally {
          t.close();
        }
        const q = lkst(['query', '--csv', path, 'SELECT count(*) AS n, count(DISTINCT buffer) AS b FROM events']);
        assert.equal(q.status, 0, q.stderr);
        assert.equal(q.stdout.trim().split('\n')[1], `${total},2`);
        const csv = join(dir, 'two.csv');
        assert.equal(lkst(['export', path, '--to', 'csv', '-o', csv]).status, 0);
        assert.equal(readFileSync(csv, 'utf8').trim().split('\n').length - 1, total);
        // state: the process of one buffer and the tasks of the other, at the trace's end.
        const state = lkst(['state', '--json', '--at', 'end', path]);
        assert.equal(state.status, 0, state.stderr);
        const pids = new Set((JSON.parse(state.stdout) as { tasks: { pid: number }[] }).tasks.map((x) => x.pid));
        assert.ok(pids.has(child.pid!), 'the process from its own buffer');
        assert.ok([...pids].some((p) => p !== child.pid && p > 0), 'tasks from the rest-of-system buffer');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
