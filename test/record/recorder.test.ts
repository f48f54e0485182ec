import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record, lostEvents } from '../../src/record/recorder.js';
import { countPageFile } from '../../src/record/cpu-reader.js';
import { writeTraceDat } from '../../src/file/writer.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { readField, recordType } from '../../src/ringbuf/fields.js';
import { parseFormat } from '../../src/events/format.js';
import { Instance } from '../../src/tracefs/instance.js';
import { withInstance } from '../helpers/instance.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lkst-test-'));
}

test('markers written during a recording come back from the page files exactly once, in order', async () => {
  const dir = tempDir();
  try {
    await withInstance('rec-markers', async (inst) => {
      inst.setEventEnabled('sched', 'sched_switch', true);
      inst.tracingOn = true;
      const marker = inst.path('trace_marker');
      const script = `for i in $(seq 1 200); do echo "lkst-nonce-$i" > ${marker}; done`;
      const r = await record({ events: [], workDir: dir, attach: inst, command: ['sh', '-c', script], pollMs: 20 });
      inst.tracingOn = false;
      const print = parseFormat(readFileSync(inst.path('events/ftrace/print/format'), 'utf8'), 'ftrace');
      const buf = print.fieldByName.get('buf')!;
      const seen: { ts: number; text: string }[] = [];
      let total = 0;
      for (const { source } of r.cpus) {
        const data = readFileSync(source);
        const pageSize = r.meta.pageSize;
        assert.equal(data.length % pageSize, 0);
        for (let off = 0; off < data.length; off += pageSize) {
          forEachRecord(data, off, pageSize, (ts, dOff, dLen) => {
            total++;
            if (recordType(data, dOff) === print.id) seen.push({ ts, text: String(readField(data, dOff, dLen, buf)).trim() });
          });
        }
      }
      const captured = r.captures.reduce((s, c) => s + c.events, 0);
      assert.equal(total, captured, 'decoder and recorder count the same records');
      const texts = seen.sort((a, b) => a.ts - b.ts).map((s) => s.text);
      assert.deepEqual(texts, Array.from({ length: 200 }, (_, i) => `lkst-nonce-${i + 1}`));
      assert.equal(r.commandExitCode, 0);
      r.discard();
      for (const { source } of r.cpus) assert.ok(!existsSync(source));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const mover of ['pump', 'node'] as const)
  test(`a recording counts what the kernel counted, removes its instance, and adds (almost) nothing of its own (pages moved by ${mover})`, async () => {
    const dir = tempDir();
    const saved = process.env.LKST_PUMP;
    if (mover === 'node') process.env.LKST_PUMP = '0';
    try {
      const r = await record({
        events: [
          { system: 'raw_syscalls', event: 'sys_enter' },
          { system: 'sched', event: 'sched_switch' },
        ],
        workDir: dir,
        command: ['sh', '-c', 'for i in $(seq 1 300); do /bin/true; done'],
      });
      assert.deepEqual(Instance.listNames().filter((n) => n.startsWith(`lkst-${process.pid}-rec`)), [], 'the recorder removed its instance');
      const captured = r.captures.reduce((s, c) => s + c.events, 0);
      const kernelRead = r.kernelStats.reduce((s, k) => s + k.readEvents, 0);
      assert.ok(captured > 1000, `a shell loop makes many events (${captured})`);
      assert.equal(captured, kernelRead, 'every event the kernel handed out was captured');
      // Node counts what it wrote; the kernel counted what it handed the pump: reading the files back finds the same.
      r.cpus.forEach((f, i) => {
        const inFile = countPageFile(f.cpu, f.source, r.meta.pageSize);
        if (mover === 'node') assert.deepEqual(inFile, r.captures[i]);
        else assert.deepEqual([r.captures[i]!.events, r.captures[i]!.pages], [inFile.events, inFile.pages], `cpu ${f.cpu}: events and pages as in the file`);
      });
      // The page files go into the trace inside the kernel (copy_file_range): the same bytes as through Node.
      await writeTraceDat(join(dir, 'kernel-copy.dat'), r.meta, r.cpus);
      await writeTraceDat(join(dir, 'node-copy.dat'), r.meta, r.cpus.map((f) => ({ cpu: f.cpu, source: readFileSync(f.source) })));
      assert.ok(readFileSync(join(dir, 'kernel-copy.dat')).equals(readFileSync(join(dir, 'node-copy.dat'))), 'both ways write the same file');
      if (mover === 'pump') {
        // The pump copied /proc/kallsyms for the writer: the file is the one the text would have made.
        const { kallsymsFile, ...rest } = r.meta;
        assert.ok(kallsymsFile && r.meta.kallsyms === '', 'the pump left kallsyms in a file');
        await writeTraceDat(join(dir, 'node-copy.dat'), { ...rest, kallsyms: readFileSync(kallsymsFile, 'latin1') }, r.cpus);
        assert.ok(readFileSync(join(dir, 'kernel-copy.dat')).equals(readFileSync(join(dir, 'node-copy.dat'))), 'kallsyms from the file or the text: the same file');
      }
      rmSync(join(dir, 'kernel-copy.dat'));
      rmSync(join(dir, 'node-copy.dat'));
      // Other load on the machine may overrun the buffer; whatever was lost must be counted.
      r.captures.forEach((c, i) => assert.equal(lostEvents(c, r.kernelStats[i], r.kernelStatsAtStart[i]), r.kernelStats[i]!.overrun + r.kernelStats[i]!.droppedEvents - r.kernelStatsAtStart[i]!.overrun - r.kernelStatsAtStart[i]!.droppedEvents));
      const fmt = parseFormat(readFileSync('/sys/kernel/tracing/events/raw_syscalls/sys_enter/format', 'utf8'), 'raw_syscalls');
      const pidField = fmt.fieldByName.get('common_pid')!;
      let own = 0;
      for (const { source } of r.cpus) {
        const data = readFileSync(source);
        for (let off = 0; off < data.length; off += r.meta.pageSize) {
          forEachRecord(data, off, r.meta.pageSize, (_ts, dOff, dLen) => {
            if (recordType(data, dOff) === fmt.id && readField(data, dOff, dLen, pidField) === process.pid) own++;
          });
        }
      }
      // Reading pages in Node makes syscalls per page: the kernel is told to leave them out. With the
      // pump, Node only starts the command and keeps time: a few syscalls, not worth a pid check per event.
      if (mover === 'node') assert.equal(own, 0);
      else assert.ok(own < captured / 100, `the recorder's own syscalls are a sliver of the trace (${own} of ${captured})`);
      r.discard();
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      if (saved === undefined) delete process.env.LKST_PUMP;
      else process.env.LKST_PUMP = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('when the pump dies mid-recording, Node reads on; what the pump held is counted as lost, never silent', async () => {
  const dir = tempDir();
  try {
    const r = await record({
      events: [{ system: 'raw_syscalls', event: 'sys_enter' }],
      workDir: dir,
      bufferKbPerCpu: 64,
      command: ['sh', '-c', `for i in $(seq 1 100); do /bin/true; done; pkill -KILL -P ${process.pid} -f lkst-pump; for i in $(seq 1 100); do /bin/true; done`],
    });
    const captured = r.captures.reduce((s, c) => s + c.events, 0);
    const kernelRead = r.kernelStats.reduce((s, k) => s + k.readEvents, 0);
    const inTransit = r.captures.reduce((s, c) => s + (c.lostInTransit ?? 0), 0);
    assert.ok(captured > 1000, `both halves were recorded (${captured})`);
    assert.equal(captured + inTransit, kernelRead, 'every event the kernel handed out was captured or counted as lost');
    r.captures.forEach((c, i) => assert.ok(lostEvents(c, r.kernelStats[i], r.kernelStatsAtStart[i]) >= (c.lostInTransit ?? 0)));
    r.discard();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attached to a buffer read before, a pump that dies counts only what it held: the kernel\'s read count since the recording began', async () => {
  const dir = tempDir();
  try {
    await withInstance('rec-attach-pump', async (inst) => {
      inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
      inst.tracingOn = true;
      // A first recording reads events out of the buffer: the kernel's read count no longer starts at 0.
      const first = await record({ events: [], workDir: dir, attach: inst, command: ['sh', '-c', 'for i in $(seq 1 50); do /bin/true; done'] });
      first.discard();
      const r = await record({
        events: [],
        workDir: dir,
        attach: inst,
        command: ['sh', '-c', `for i in $(seq 1 100); do /bin/true; done; pkill -KILL -P ${process.pid} -f lkst-pump; for i in $(seq 1 100); do /bin/true; done`],
      });
      inst.tracingOn = false;
      const readBefore = r.kernelStatsAtStart.reduce((s, k) => s + k.readEvents, 0);
      assert.ok(readBefore > 0, 'the buffer had been read before this recording');
      const captured = r.captures.reduce((s, c) => s + c.events, 0);
      const readDuring = r.kernelStats.reduce((s, k) => s + k.readEvents, 0) - readBefore;
      const inTransit = r.captures.reduce((s, c) => s + (c.lostInTransit ?? 0), 0);
      assert.equal(captured + inTransit, readDuring, 'what the kernel handed out during this recording was captured or counted as lost');
      r.discard();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('recording an armed trace that keeps running ends promptly and does not chase the writer page by page', async () => {
  const dir = tempDir();
  try {
    await withInstance('rec-attach-live', async (inst) => {
      inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
      inst.setEventEnabled('raw_syscalls', 'sys_exit', true);
      inst.tracingOn = true;
      const r = await record({ events: [], workDir: dir, attach: inst, command: ['sh', '-c', 'for i in $(seq 1 200); do /bin/true; done'] });
      // Tracing goes on after the recorder stops: its last reads must not feed on their own syscalls.
      assert.ok(r.elapsedMs < 10_000, `ended in ${r.elapsedMs} ms`);
      const events = r.captures.reduce((s, c) => s + c.events, 0);
      const pages = r.captures.reduce((s, c) => s + c.pages, 0);
      assert.ok(events > 1000, `the loop was recorded (${events} events)`);
      assert.ok(events / pages >= 20, `pages are mostly full (${(events / pages).toFixed(1)} events a page)`);
      r.discard();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
