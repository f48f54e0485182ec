import { test } from 'node:test';
import { writeTraceDat } from '../../src/file/writer.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBuffer, deleteBuffer, listBufferNames, openBuffer, resizeBuffer } from '../../src/buffers/buffer.js';
import { bufferStatus } from '../../src/buffers/status.js';
import { dumpBuffer } from '../../src/buffers/dump.js';
import { bufferInstanceName } from '../../src/buffers/name.js';
import { Instance } from '../../src/tracefs/instance.js';
import { LkstError } from '../../src/base/errors.js';
import { reportedSeqs, seqBuffer, sleep, startSeqWorkload, stopChild, withBufferNames } from './helpers.js';
import { availableParallelism } from 'node:os';

test('create, list, resize and delete: the kernel reports the sizes and modes asked for', async () => {
  await withBufferNames(['life'], async (name) => {
    const inst = createBuffer(name, { sizeKb: 64, overwrite: false });
    assert.ok(listBufferNames().includes(name));
    let st = bufferStatus(inst);
    assert.equal(st.recording, false, 'a new buffer is stopped');
    assert.equal(st.overwrite, false);
    assert.equal(inst.read('options/overwrite').trim(), '0');
    // The kernel rounds up to whole pages of data: at least what was asked, and what buffer_size_kb says.
    assert.equal(st.sizeKb, Number(inst.read('buffer_size_kb')));
    assert.ok(st.sizeKb >= 64 && st.sizeKb < 64 + 8, `64 KiB asked, ${st.sizeKb} given`);
    for (const c of st.cpus) assert.equal(c.sizeKb, Number(inst.read(`per_cpu/cpu${c.cpu}/buffer_size_kb`)));
    assert.deepEqual(
      st.cpus.map((c) => c.cpu),
      inst.cpus(),
    );
    resizeBuffer(name, 128);
    st = bufferStatus(openBuffer(name));
    assert.ok(st.sizeKb >= 128 && st.sizeKb < 128 + 8, `128 KiB asked, ${st.sizeKb} given`);
    assert.ok(st.cpus.every((c) => c.sizeKb === st.sizeKb));
    assert.throws(() => createBuffer(name), LkstError, 'a second buffer of the same name is refused');
    assert.throws(() => resizeBuffer(name, 1), LkstError);
    deleteBuffer(name);
    assert.ok(!Instance.exists(bufferInstanceName(name)));
    assert.throws(() => deleteBuffer(name), /no buffer named/);
  });
});

test('bad names and options are refused with a cause and a fix', () => {
  assert.throws(() => createBuffer('a/b'), /bad buffer name.*: use/);
  assert.throws(() => createBuffer('x', { follow: true }), /--follow needs --pid/);
  assert.throws(() => openBuffer(`nope-${process.pid}`), /no buffer named .*lkst buffer list/);
});

test('a full overwrite buffer: the overrun the kernel counts equals the loss stored in the dumped pages', async () => {
  await withBufferNames(['ovr'], async (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'lkst-buf-'));
    const child = await startSeqWorkload();
    try {
      const inst = seqBuffer(name, child.pid!, { sizeKb: 8, overwrite: true });
      inst.tracingOn = true;
      await sleep(200);
      const out = join(dir, 'ovr.dat');
      const r = await dumpBuffer(inst, out, { writer: writeTraceDat, freeze: true, kallsyms: false });
      assert.equal(inst.tracingOn, false, 'a frozen dump leaves the buffer stopped');
      const overrun = r.before.reduce((s, c) => s + c.overrun, 0);
      assert.ok(overrun > 0, `8 KiB per CPU overflowed (overrun ${overrun})`);
      r.before.forEach((k, i) => {
        const c = r.captures[i]!;
        assert.equal(c.events, k.entries, `CPU ${c.cpu}: events dumped = entries the kernel held`);
        // The first page read after an overrun is flagged; the count is stored only if the page has room.
        if (k.overrun > 0) assert.ok(c.lostInPages === k.overrun || (c.lostInPages === 0 && c.lossFlagsWithoutCount > 0), `CPU ${c.cpu}: the pages show the loss`);
        else assert.equal(c.lostInPages + c.lossFlagsWithoutCount, 0);
      });
      const report = execFileSync('trace-cmd', ['report', '-i', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal((report.match(/sys_enter:/g) ?? []).length, r.events);
    } finally {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a full stop-when-full buffer: keeps the first events, the kernel counts the rest as dropped, not overrun', async () => {
  await withBufferNames(['drop'], async (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'lkst-buf-'));
    const child = await startSeqWorkload({ cpu: availableParallelism() - 1 });
    try {
      const inst = seqBuffer(name, child.pid!, { sizeKb: 8, overwrite: false });
      inst.tracingOn = true;
      await sleep(200);
      const r = await dumpBuffer(inst, join(dir, 'drop.dat'), { writer: writeTraceDat, freeze: true, kallsyms: false });
      const dropped = r.before.reduce((s, c) => s + c.droppedEvents, 0);
      assert.ok(dropped > 0, `8 KiB per CPU overflowed (dropped ${dropped})`);
      assert.equal(r.before.reduce((s, c) => s + c.overrun, 0), 0, 'nothing was overwritten');
      r.before.forEach((k, i) => assert.equal(r.captures[i]!.events, k.entries));
      // What is kept is the start: one unbroken run of the (pinned) workload's calls.
      const seqs = reportedSeqs(r.path);
      assert.equal(seqs.length, r.events);
      seqs.forEach((s, i) => i && assert.equal(s, seqs[i - 1]! + 1));
    } finally {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
