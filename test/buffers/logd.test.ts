import { test } from 'node:test';
import { writeTraceDat } from '../../src/file/writer.js';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { LogDaemon } from '../../src/buffers/logd.js';
import { Segment } from '../../src/buffers/segment.js';
import { CLI } from '../helpers/cli.js';
import { reportedSeqs, seqBuffer, sleep, startSeqWorkload, stopChild, withBufferNames } from './helpers.js';


interface LogdFixture {
  name: string;
  dir: string;
  child: ChildProcess;
  /** Registers the daemon under test: it is stopped afterwards even when an assertion fails. */
  own(d: LogDaemon): LogDaemon;
}

/**
 * One logd test's surroundings: a test buffer name, a directory (a tmpfs of tmpfsSize when given)
 * and the seq workload; afterwards the daemon is stopped, the workload killed and the directory
 * unmounted and removed, even when the test fails.
 */
async function withLogd(tag: string, opts: { spin?: number; tmpfsSize?: string }, fn: (f: LogdFixture) => Promise<void>): Promise<void> {
  await withBufferNames([tag], async (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'lkst-logd-'));
    if (opts.tmpfsSize) execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.tmpfsSize}`, 'tmpfs', dir]);
    let daemon: LogDaemon | undefined;
    const child = await startSeqWorkload(opts.spin === undefined ? {} : { spin: opts.spin });
    try {
      await fn({ name, dir, child, own: (d) => (daemon = d) });
    } finally {
      await daemon?.stop().catch(() => undefined);
      await stopChild(child);
      if (opts.tmpfsSize) execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('logd rotates by size and on demand without losing or repeating an event; every file opens in trace-cmd', async () => {
  await withLogd('logd', { spin: 2000 }, async ({ name, dir, child, own }) => {
    const inst = seqBuffer(name, child.pid!, { sizeKb: 4096, overwrite: false });
    const d = own(new LogDaemon({ buffers: [inst], writer: writeTraceDat, dir, maxBytes: 512 * 1024, kallsyms: false, pollMs: 50 }));
    inst.tracingOn = true;
    d.start();
    await sleep(600);
    const forced = await d.rotate();
    assert.ok(forced, 'rotate() wrote a file');
    await sleep(600);
    inst.tracingOn = false;
    const st = await d.stop();
    assert.ok(st.filesWritten >= 3, `${st.filesWritten} files`);
    assert.deepEqual(readdirSync(dir).sort(), st.files.map((f) => basename(f)).sort(), 'only finished files are left');
    assert.equal(st.eventsUnsaved, 0);
    const seqs = st.files.flatMap(reportedSeqs);
    assert.equal(seqs.length, st.eventsSaved, 'trace-cmd reads every saved event back');
    const sorted = [...seqs].sort((a, b) => a - b);
    let missing = 0;
    for (let i = 1; i < sorted.length; i++) {
      assert.ok(sorted[i]! > sorted[i - 1]!, `${sorted[i]} saved twice`);
      missing += sorted[i]! - sorted[i - 1]! - 1;
    }
    // Rotation itself loses nothing: a hole is only where the kernel counted a loss (a starved machine).
    assert.ok(missing <= st.eventsLostByKernel, `${missing} events missing, the kernel lost ${st.eventsLostByKernel}`);
  });
});

test('logd --max-size bounds whole files, kallsyms included; a size that cannot hold the metadata is refused', async () => {
  await withLogd('logd-max', { spin: 2000 }, async ({ name, dir, child, own }) => {
    const inst = seqBuffer(name, child.pid!, { sizeKb: 2048, overwrite: false });
    assert.throws(
      () => new LogDaemon({ buffers: [inst], writer: writeTraceDat, dir, maxBytes: 1024 * 1024, kallsyms: true }),
      /smaller than a file's metadata and one page per CPU .*kallsyms/,
    );
    // kallsyms is several MB: give each file about 1 MiB of room for pages next to it.
    const kallsymsBytes = Buffer.byteLength(execFileSync('cat', ['/proc/kallsyms'], { maxBuffer: 64 << 20 }).toString());
    const maxBytes = kallsymsBytes + 1024 * 1024;
    const d = own(new LogDaemon({ buffers: [inst], writer: writeTraceDat, dir, maxBytes, kallsyms: true, pollMs: 50 }));
    inst.tracingOn = true;
    d.start();
    await sleep(1500);
    inst.tracingOn = false;
    const st = await d.stop();
    assert.ok(st.filesWritten >= 2, `${st.filesWritten} files`);
    for (const f of st.files) {
      const size = statSync(f).size;
      assert.ok(size <= maxBytes, `${basename(f)}: ${size} bytes > --max-size ${maxBytes}`);
      assert.ok(size > kallsymsBytes, `${basename(f)} holds kallsyms`);
    }
    const seqs = st.files.flatMap(reportedSeqs);
    assert.equal(seqs.length, st.eventsSaved, 'trace-cmd reads every saved event back');
    assert.equal(new Set(seqs).size, seqs.length, 'no event saved twice');
  });
});

test('logd rotates by time and keeps at most --max-files files', async () => {
  await withLogd('logd-age', { spin: 3000 }, async ({ name, dir, child, own }) => {
    const inst = seqBuffer(name, child.pid!, { sizeKb: 1024, overwrite: false });
    const d = own(new LogDaemon({ buffers: [inst], writer: writeTraceDat, dir, maxAgeSec: 0.2, maxFiles: 2, kallsyms: false, pollMs: 50 }));
    inst.tracingOn = true;
    d.start();
    await sleep(1200);
    const st = await d.stop();
    assert.ok(st.filesWritten >= 4, `${st.filesWritten} files written`);
    assert.equal(st.files.length, 2);
    assert.deepEqual(readdirSync(dir).sort(), st.files.map((f) => basename(f)).sort());
    for (const f of st.files) assert.ok(reportedSeqs(f).length > 0);
  });
});

test('logd on a disk that fills up: stops writing with a message, counts what it could not save, resumes when room comes back', async () => {
  await withLogd('logd-full', { tmpfsSize: '2m' }, async ({ name, dir, child, own }) => {
    const inst = seqBuffer(name, child.pid!, { sizeKb: 64, overwrite: false });
    const messages: string[] = [];
    const d = own(new LogDaemon({ buffers: [inst], writer: writeTraceDat, dir, maxBytes: 256 * 1024, kallsyms: false, pollMs: 20, resumeCheckMs: 100, onMessage: (m) => messages.push(m) }));
    inst.tracingOn = true;
    d.start();
    // Until the daemon has stopped writing and counted something it could not save.
    let full = d.stats;
    for (let i = 0; i < 100 && !(full.diskFull && full.eventsUnsaved > 0); i++) {
      await sleep(50);
      full = d.stats;
    }
    assert.ok(full.diskFull, 'the daemon saw the disk fill up');
    assert.ok(full.eventsUnsaved > 0, 'and counted events it could not save');
    assert.match(messages.join('\n'), /stopped writing: .*still reading the buffers and counting/);
    for (const f of full.files) assert.ok(reportedSeqs(f).length > 0, `${f} is a complete trace.dat`);
    // Free the space: writing resumes.
    for (let i = 0; i < 50 && d.stats.diskFull; i++) {
      for (const f of d.stats.files) rmSync(f, { force: true }); // a file still being written lands late
      await sleep(100);
    }
    assert.equal(d.stats.diskFull, false);
    assert.match(messages.join('\n'), /writing resumed/);
    inst.tracingOn = false;
    const st = await d.stop();
    assert.ok(st.eventsUnsaved >= full.eventsUnsaved);
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.')), 'no page or temporary files left');
  });
});

test("a segment's file ends at the counters read when its window closed, not when it is written: the files' losses add up to the kernel's", async () => {
  await withLogd('logd-window', { spin: 0 }, async ({ name, dir, child }) => {
    const inst = seqBuffer(name, child.pid!, { sizeKb: 64, overwrite: false });
    const dropped = () => inst.cpus().reduce((n, c) => n + inst.cpuStats(c).droppedEvents, 0);
    const seg = new Segment([inst], dir);
    inst.tracingOn = true;
    try {
      await sleep(200);
      seg.drain();
      const atEnd = seg.markEnd().get(inst.name)!;
      const endDropped = atEnd.reduce((n, s) => n + (s?.droppedEvents ?? 0), 0);
      // Nothing reads the buffer now: it fills and the kernel drops, as while a rotated file is still being written.
      for (let i = 0; i < 100 && dropped() === endDropped; i++) await sleep(50);
      assert.ok(dropped() > endDropped, 'the kernel dropped events after the window closed');
      const path = join(dir, 'window.dat');
      await seg.write(path, { writer: writeTraceDat, kallsyms: false });
      const st = JSON.parse(execFileSync(process.execPath, [CLI, 'stats', '--json', path], { encoding: 'utf8' })) as { lostTotal: number; lostExact: boolean };
      assert.ok(st.lostExact);
      assert.equal(st.lostTotal, endDropped, 'the file counts the drops of its own window only');
    } finally {
      inst.tracingOn = false;
      seg.close();
      seg.removeFiles();
    }
  });
});
