import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeTraceDat } from '../../src/file/writer.js';
import { openTraceDat } from '../../src/file/reader.js';
import { LkstError } from '../../src/base/errors.js';
import { renderContextOf } from '../../src/analysis/report/report.js';
import { capture, type Capture } from '../helpers/capture.js';
import { assertAgrees, countByName, decodeBuffer, decodePages, registryOf, tracecmdReport, type CpuEvents } from './agree.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'lkst-file-'));
}

function decodeCapture(cap: Capture): Map<number, CpuEvents> {
  const reg = registryOf(cap.meta);
  return new Map(cap.cpus.map((c) => [c.cpu, decodePages(reg, [c.source], cap.meta.pageSize)]));
}

let shared: Promise<Capture> | undefined;
const sample = (): Promise<Capture> => (shared ??= capture());

test('trace-cmd report shows every event of a file we wrote, with the same times and values', async () => {
  const cap = await sample();
  const dir = tmp();
  try {
    const path = join(dir, 'trace.dat');
    await writeTraceDat(path, cap.meta, cap.cpus);
    const ours = decodeCapture(cap);
    const names = countByName(ours);
    for (const n of ['sched_switch', 'sys_enter', 'print']) assert.ok(names.get(n), `the capture has no ${n} event`);
    const { events, fieldChecks } = assertAgrees(ours, tracecmdReport(path));
    assert.ok(events > 100 && fieldChecks > 100, `compared ${events} events and ${fieldChecks} fields`);
    const stat = spawnSync('trace-cmd', ['report', '--stat', path], { encoding: 'utf8' });
    const overrun = /^overrun: (\d+)$/m.exec(cap.meta.cpuStats?.[0] ?? '')?.[1];
    assert.match(stat.stdout, new RegExp(`CPU: 0\\nentries: \\d+\\noverrun: ${overrun}\\n`), 'trace-cmd shows the per-CPU stats we stored');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('our reader gives back the metadata and the very pages we wrote', async () => {
  const cap = await sample();
  const dir = tmp();
  try {
    const path = join(dir, 'trace.dat');
    await writeTraceDat(path, cap.meta, cap.cpus);
    const tf = openTraceDat(path);
    try {
      assert.equal(tf.version, 7);
      assert.deepEqual(tf.warnings, []);
      const m = cap.meta;
      const { hostname: _h, instance: _i, ...written } = m;
      assert.deepEqual(tf.meta, written);
      assert.equal(tf.pageSize, m.pageSize);
      for (const c of cap.cpus) {
        const s = tf.buffers[0]!.cpus.find((x) => x.cpu === c.cpu);
        assert.ok(s, `CPU ${c.cpu} is in the file`);
        assert.equal(s.size, c.source.length);
        assert.ok(Buffer.concat([...s.chunks()]).equals(c.source), `CPU ${c.cpu} pages are identical`);
        assert.equal(s.statsText, m.cpuStats?.[c.cpu]);
        assert.equal(s.counters.end?.overrun, Number(/^overrun: (\d+)$/m.exec(m.cpuStats?.[c.cpu] ?? '')?.[1]));
      }
      // The lookups: a symbol of this kernel, this process's comm, a printk format.
      const sched = /^([0-9a-f]+) [Tt] schedule$/m.exec(m.kallsyms);
      if (sched && BigInt('0x' + sched[1]) !== 0n) assert.equal(tf.kallsyms.lookup(BigInt('0x' + sched[1]) + 4n)?.name, 'schedule');
      // Report rendering (%pS) names addresses with the very table the reader gives analyses.
      assert.equal(renderContextOf(tf).symbols, tf.kallsyms);
      const firstComm = /^(\d+) (.+)$/m.exec(m.cmdlines);
      if (firstComm) assert.equal(tf.cmdlines.get(Number(firstComm[1])), firstComm[2]);
      const pk = /^(0x[0-9a-f]+) : "(.*)"$/m.exec(m.printk);
      if (pk) assert.ok(tf.printkFormats.has(BigInt(pk[1]!)));
      assert.ok(tf.registry.find('sched', 'sched_switch'));
      assert.ok(tf.registry.find('ftrace', 'print'));
    } finally {
      tf.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('page files are copied whole, a partial last page is left out, further buffers keep their names', async () => {
  const cap = await sample();
  const dir = tmp();
  try {
    const sources = cap.cpus.map((c) => {
      const p = join(dir, `cpu${c.cpu}.pages`);
      writeFileSync(p, Buffer.concat([c.source, c.source.subarray(0, 100)]));
      return { cpu: c.cpu, source: p };
    });
    const path = join(dir, 'two.dat');
    await writeTraceDat(path, cap.meta, sources, { buffers: [{ name: 'second', cpus: cap.cpus, cpuStats: cap.meta.cpuStats }] });
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file is left');
    const tf = openTraceDat(path);
    try {
      assert.deepEqual(tf.buffers.map((b) => b.name), ['', 'second']);
      const reg = tf.registry;
      const top = decodeBuffer(reg, tf.buffers[0]!);
      const second = decodeBuffer(reg, tf.buffers[1]!);
      assert.deepEqual(countByName(second), countByName(top));
      assert.deepEqual(countByName(top), countByName(decodeCapture(cap)));
      assert.equal(tf.buffers[1]!.cpus[0]!.statsText, cap.meta.cpuStats?.[0]);
    } finally {
      tf.close();
    }
    const rep = tracecmdReport(path);
    const total = [...rep.byCpu.values()].reduce((a, l) => a + l.length, 0);
    const once = [...decodeCapture(cap).values()].reduce((a, c) => a + c.events.length, 0);
    assert.equal(total, 2 * once, 'trace-cmd shows the events of both buffers');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a trace file cannot be written into a missing directory, and nothing is left behind', async () => {
  const cap = await sample();
  const dir = tmp();
  try {
    const path = join(dir, 'no', 'such', 'trace.dat');
    await assert.rejects(writeTraceDat(path, cap.meta, cap.cpus), (e: unknown) => e instanceof LkstError && /directory does not exist/.test(e.message));
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lost events survive the file: page flags and counts as the kernel set them, per-CPU stats as it printed them', async () => {
  // A small buffer in overwrite mode and a burst of syscalls: the kernel overwrites old pages.
  const cap = await capture({
    bufferKb: 16,
    events: ['raw_syscalls:*', 'sched:sched_switch'],
    workload: () => {
      spawnSync('sh', ['-c', 'i=0; while [ $i -lt 3000 ]; do : > /dev/null; i=$((i+1)); done; cat /proc/self/maps > /dev/null']);
    },
  });
  const dir = tmp();
  try {
    const path = join(dir, 'lost.dat');
    await writeTraceDat(path, cap.meta, cap.cpus);
    const ours = decodeCapture(cap);
    const flagged = [...ours.values()].reduce((a, c) => a + c.dropped.length, 0);
    const overrun = (cap.meta.cpuStats ?? []).reduce((a, t) => a + Number(/^overrun: (\d+)$/m.exec(t ?? '')?.[1] ?? 0), 0);
    assert.ok(overrun > 0, 'the kernel overwrote events');
    assert.ok(flagged > 0, 'a page carries the lost-events flag');
    assertAgrees(ours, tracecmdReport(path));
    const tf = openTraceDat(path);
    try {
      const lost = tf.buffers[0]!.cpus.reduce((a, s) => a + (s.counters.end?.overrun ?? 0), 0);
      assert.equal(lost, overrun);
      const back = decodeBuffer(tf.registry, tf.buffers[0]!);
      assert.deepEqual([...back.values()].map((c) => c.dropped), [...ours.values()].map((c) => c.dropped));
    } finally {
      tf.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a time offset is stored as trace-cmd expects it and given back', async () => {
  const cap = await sample();
  const dir = tmp();
  try {
    const path = join(dir, 'offset.dat');
    const offset = 5_000_000_123;
    await writeTraceDat(path, cap.meta, cap.cpus, { tsOffset: offset });
    const shifted = new Map([...decodeCapture(cap)].map(([cpu, c]) => [cpu, { ...c, events: c.events.map((e) => ({ ...e, ts: e.ts + offset })) }]));
    assertAgrees(shifted, tracecmdReport(path));
    const tf = openTraceDat(path);
    try {
      assert.equal(tf.options.tsOffset, BigInt(offset));
    } finally {
      tf.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('64 KiB sub-buffers: trace-cmd and our reader read the large pages', async (t) => {
  let cap: Capture;
  try {
    cap = await capture({ subbufKb: 64 });
  } catch (e) {
    // The file exists either way; this kernel refused the write on some days (EPERM as root).
    if (e instanceof LkstError && /refuse.*buffer_subbuf_size_kb/.test(e.message)) {
      t.skip('this kernel refuses buffer_subbuf_size_kb writes (EPERM as root): sub-buffer size is not adjustable here');
      return;
    }
    throw e;
  }
  assert.equal(cap.meta.pageSize, 65536);
  const dir = tmp();
  try {
    const path = join(dir, 'big-pages.dat');
    await writeTraceDat(path, cap.meta, cap.cpus);
    const { events } = assertAgrees(decodeCapture(cap), tracecmdReport(path));
    assert.ok(events > 100);
    const tf = openTraceDat(path);
    try {
      assert.equal(tf.pageSize, 65536);
      assert.deepEqual(countByName(decodeBuffer(tf.registry, tf.buffers[0]!)), countByName(decodeCapture(cap)));
    } finally {
      tf.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
