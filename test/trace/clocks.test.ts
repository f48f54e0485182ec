import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withInstance } from '../helpers/instance.js';
import { Segment } from '../../src/buffers/segment.js';
import { writeTraceDat } from '../../src/file/writer.js';
import { openTraceDat, type TraceFile } from '../../src/file/reader.js';
import { analysisInput } from '../../src/analysis/input.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { scanLosses } from '../../src/analysis/losses.js';
import { traceStats } from '../../src/analysis/stats.js';
import { renderStats } from '../../src/analysis/render.js';
import type { Instance } from '../../src/tracefs/instance.js';
import { lkst } from '../helpers/cli.js';
import { ChunkIndex } from '../../src/web/reader.js';
import { MonoSync, printEventId } from '../../src/buffers/clock-sync.js';
import { forEachPageFileRecord } from '../../src/buffers/formats.js';
import { pageSizeOf } from '../../src/buffers/segment.js';
import { CpuReader } from '../../src/record/cpu-reader.js';
import { recordType } from '../../src/ringbuf/fields.js';
import { LogDaemon } from '../../src/buffers/logd.js';
import { traceSummary } from '../../src/analysis/cache/summary.js';
import { stateAt } from '../../src/analysis/state.js';

/** Markers written back to back, each write(2) alone (the writers opened beforehand). */
function markAll(writes: [Instance, string][]): void {
  const ws = writes.map(([inst]) => inst.openWriter('trace_marker'));
  try {
    writes.forEach(([, text], i) => ws[i]!.write(text));
  } finally {
    for (const w of ws) w.close();
  }
}

/** Time of the marker starting with `text` in buffer `name`, on that buffer's own clock (read alone: no shift). */
function markerTs(t: TraceFile, name: string, text: string): number {
  const input = analysisInput(t, [name || 'top']);
  let at = Number.NaN;
  forEachEvent(input, {
    event: (ev) => {
      if (ev.name === 'print' && ev.buf.toString('latin1', ev.off + 16, ev.off + ev.len).startsWith(text)) at = ev.ts;
    },
  });
  assert.ok(!Number.isNaN(at), `marker ${text} in buffer ${name || 'top'}`);
  return at;
}

/** Two fresh instances on these clocks, tracing on, and a scratch directory; all removed afterwards. */
async function withClockPair(clocks: [string, string], fn: (a: Instance, b: Instance, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-clocks-'));
  try {
    await withInstance(`clk-${clocks[0]}`, (a) =>
      withInstance(`clk-${clocks[1]}`, async (b) => {
        a.clock = clocks[0];
        b.clock = clocks[1];
        a.tracingOn = true;
        b.tracingOn = true;
        await fn(a, b, dir);
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Two buffers on clocks global and local (they differ on this VM: a marker written to both is
 * stamped ~20 ms apart), recorded together; one loses events in the middle.
 */
async function recordTwoClocks(fn: (t: TraceFile) => void): Promise<void> {
  await withClockPair(['global', 'local'], async (a, b, dir) => {
    b.bufferSizeKb = 8;
    const seg = new Segment([a, b], dir);
    markAll([
      [a, 'probe a1'],
      [b, 'probe b'],
      [a, 'probe a2'],
    ]);
    // The storm's CPU gets a record of b's before it, so its loss has a gap start (after the probe).
    const onCpu0 = (script: string) => execFileSync('taskset', ['-c', '0', 'sh', '-c', script], { env: { ...process.env, M: b.path('trace_marker') } });
    onCpu0('echo before storm > "$M"');
    seg.drain();
    // A storm into the small buffer: it overwrites what no reader took.
    onCpu0(`i=0; while [ $i -lt 4000 ]; do echo "storm $i ${'x'.repeat(64)}" > "$M"; i=$((i+1)); done`);
    a.mark('after storm');
    seg.syncClocks('end');
    seg.drain();
    const path = join(dir, 'two-clocks.dat');
    await seg.write(path, { writer: writeTraceDat, kallsyms: false });
    const report = execFileSync('trace-cmd', ['report', '-i', path], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(report, /probe a1/, "trace-cmd opens the file with lkst's clock option");
    // lkst report merges raw, as trace-cmd: the same text, and one note that the clocks differ.
    const ours = lkst(['report', path], { maxBuffer: 64 << 20 });
    assert.equal(ours.status, 0, ours.stderr);
    assert.ok(ours.stdout === report, 'lkst report prints what trace-cmd report prints');
    assert.equal(ours.stderr.match(/^lkst: note: buffers on different clocks \(top global, \S+ local\)/gm)?.length, 1, ours.stderr);
    const t = openTraceDat(path);
    try {
      fn(t);
    } finally {
      t.close();
    }
  });
}

test('buffers on clocks global and local recorded together: the stored offset agrees with a marker written to both; a loss in one is placed by it, and without it is uncertain with the reason', async (ctx) => {
  await recordTwoClocks((t) => {
    assert.equal(t.buffers.length, 2);
    const [top, other] = t.buffers as [TraceFile['buffers'][number], TraceFile['buffers'][number]];
    assert.equal(top.clock, 'global');
    assert.equal(other.clock, 'local');
    const off = other.clockOffset;
    assert.ok(off, 'the offset of the local buffer is stored');
    assert.match(off.how, /sync markers at start and end/);
    // The probe: b's marker was stamped between a's two, so the true offset lies in [a1 - b, a2 - b].
    const a1 = markerTs(t, '', 'probe a1');
    const a2 = markerTs(t, '', 'probe a2');
    const pb = markerTs(t, other.name, 'probe b');
    assert.ok(
      a1 - pb <= off.ns + off.uncertaintyNs && a2 - pb >= off.ns - off.uncertaintyNs,
      `probe range [${a1 - pb}, ${a2 - pb}] meets the stored ${off.ns} ± ${off.uncertaintyNs}`,
    );

    ctx.diagnostic(`offset ${off.ns} ± ${off.uncertaintyNs} ns; probe range [${a1 - pb}, ${a2 - pb}]`);
    const input = analysisInput(t);
    // On the merged axis the probe markers of both buffers fall between a1 and a2, within the uncertainty.
    const isProbe = (ev: { buffer: string; name: string; buf: Buffer; off: number }) =>
      ev.buffer === other.name && ev.name === 'print' && ev.buf.toString('latin1', ev.off + 16, ev.off + 23) === 'probe b';
    let merged = Number.NaN;
    // The viewer's windows read on the same axis (web/reader.ts).
    const chunks = new ChunkIndex(input);
    forEachEvent(chunks.watch(), { event: (ev) => void (isProbe(ev) && (merged = ev.ts)) });
    assert.ok(merged >= a1 - off.uncertaintyNs && merged <= a2 + off.uncertaintyNs, `aligned probe ${merged} within [${a1}, ${a2}] ± ${off.uncertaintyNs}`);
    let inWindow = Number.NaN;
    chunks.read(a1 - off.uncertaintyNs, a2 + off.uncertaintyNs, (ev) => void (isProbe(ev) && (inWindow = ev.ts)));
    assert.equal(inWindow, merged, 'the viewer window holds the probe at its aligned time');

    // The loss: in the local buffer only, after the probe; a span of the top buffer's before it is clean once placed.
    const placed = scanLosses(input);
    assert.ok(placed.all.length > 0, 'the storm lost events');
    assert.ok(
      placed.all.every((l) => l.buffer === other.name && l.cpu === 0 && !l.unplaceable),
      JSON.stringify(placed.all),
    );
    assert.equal(placed.uncertainty(a1, a2), undefined, 'nothing lost around the probe, once the loss is placed');
    assert.equal(stateAt(input, a2).losses, undefined, 'lkst state at the probe: nothing lost before it');
    // Stats and the analysis count the same losses.
    const stats = traceStats(input);
    const counted = placed.all.reduce((n, l) => n + Math.max(0, l.count), 0);
    assert.equal(stats.lostTotal, counted, 'stats and the loss log agree');
    assert.equal(stats.buffers[1]!.lost, counted);
    assert.ok(stats.lostTotal > 0);
    ctx.diagnostic(`lost ${counted} in ${placed.all.length} gap(s)`);
    assert.match(renderStats(stats), new RegExp(`clock of ${other.name}: local, [+-][\\d,]+ ns ± [\\d,]+ ns to top \\(sync markers at start and end\\)`));

    // The same file as a reader without the offset sees it (a trace-cmd file, a crash dump).
    delete other.clockOffset;
    delete top.clockOffset;
    const loose = scanLosses(analysisInput(t));
    const why = loose.uncertainty(a1, a2);
    assert.ok(why, 'with no offset, the loss touches every span');
    assert.match(why, new RegExp(`CPU \\d+ of buffer ${other.name} lost [\\d,]+ events?; its clock local is not comparable with the top-level buffer's global`));
    assert.equal(
      loose.all.reduce((n, l) => n + Math.max(0, l.count), 0),
      counted,
      'the same losses, only not placed',
    );
    const looseStats = traceStats(analysisInput(t));
    assert.equal(looseStats.lostTotal, counted);
    assert.equal(stateAt(analysisInput(t), a2).losses, why, 'lkst state at the probe: the loss may lie before it');
    assert.match(renderStats(looseStats), new RegExp(`clock of ${other.name}: local, not comparable: its clock local is not comparable with the top-level buffer's global`));
    // lkst state's summary keeps the mark through its cache: built once, then read back.
    traceSummary(analysisInput(t));
    const cached = traceSummary(analysisInput(t));
    assert.ok(cached.dir, 'a cache was used');
    assert.equal(cached.losses.uncertainty(a1, a2), why, 'the cached losses say the same');
  });
});

/** Each CPU of inst drained into a page file in dir (as a recording keeps them). */
function drainToFiles(inst: Instance, dir: string): { pageSize: number; files: { source: string }[] } {
  const pageSize = pageSizeOf(inst);
  const files = inst.cpus().map((cpu) => {
    const source = join(dir, `${inst.name}-cpu${cpu}.pages`);
    const r = new CpuReader(cpu, inst.rawPipePath(cpu), pageSize, source);
    try {
      r.drain();
    } finally {
      r.close();
    }
    return { source };
  });
  return { pageSize, files };
}

/** Time of the marker starting with `text` in page files. */
function fileMarkerTs(b: { pageSize: number; files: { source: string }[] }, text: string): number {
  const id = printEventId();
  let at = Number.NaN;
  for (const f of b.files)
    forEachPageFileRecord(
      f.source,
      b.pageSize,
      (buf, ts, off, len) => void (recordType(buf, off) === id && buf.toString('latin1', off + 16, off + len).startsWith(text) && (at = ts)),
    );
  assert.ok(!Number.isNaN(at), `marker ${text}`);
  return at;
}

test("a buffer on `mono` with no trace_marker (the BPF engine's): its offset to a local instance, from markers between readings of CLOCK_MONOTONIC, agrees with an instance on mono", async (ctx) => {
  await withClockPair(['local', 'mono'], async (a, m, dir) => {
    const sync = new MonoSync(a);
    assert.equal(sync.needed, true);
    sync.mark('start');
    markAll([
      [a, 'probe a1'],
      [m, 'probe m'],
      [a, 'probe a2'],
    ]);
    sync.mark('end');
    const local = drainToFiles(a, dir);
    const mono = drainToFiles(m, dir);
    const off = sync.offset(local, printEventId());
    assert.ok(off, 'both markers found');
    assert.match(off.how, /sync markers at start and end, against CLOCK_MONOTONIC/);
    // The mono instance's probe was stamped between the local's two: the true offset lies in [a1 - pm, a2 - pm].
    const a1 = fileMarkerTs(local, 'probe a1');
    const a2 = fileMarkerTs(local, 'probe a2');
    const pm = fileMarkerTs(mono, 'probe m');
    ctx.diagnostic(`mono to local ${off.ns} ± ${off.uncertaintyNs} ns; probe range [${a1 - pm}, ${a2 - pm}]`);
    assert.ok(a1 - pm <= off.ns + off.uncertaintyNs && a2 - pm >= off.ns - off.uncertaintyNs, `probe range [${a1 - pm}, ${a2 - pm}] meets ${off.ns} ± ${off.uncertaintyNs}`);
  });
});

test("lkst logd with buffers on clocks global and local: each file carries the local buffer's offset from its start and end markers", async (ctx) => {
  await withClockPair(['global', 'local'], async (a, b, dir) => {
    const d = new LogDaemon({ buffers: [a, b], writer: writeTraceDat, dir, kallsyms: false, pollMs: 50 });
    d.start();
    markAll([
      [a, 'probe a1'],
      [b, 'probe b'],
      [a, 'probe a2'],
    ]);
    const st = await d.stop();
    assert.equal(st.files.length, 1);
    const t = openTraceDat(st.files[0]!);
    try {
      const off = t.buffers[1]!.clockOffset;
      assert.ok(off, 'the file has the offset');
      assert.equal(off.how, 'sync markers at start and end');
      const a1 = markerTs(t, '', 'probe a1');
      const a2 = markerTs(t, '', 'probe a2');
      const pb = markerTs(t, t.buffers[1]!.name, 'probe b');
      ctx.diagnostic(`offset ${off.ns} ± ${off.uncertaintyNs} ns; probe range [${a1 - pb}, ${a2 - pb}]`);
      assert.ok(a1 - pb <= off.ns + off.uncertaintyNs && a2 - pb >= off.ns - off.uncertaintyNs);
    } finally {
      t.close();
    }
  });
});
