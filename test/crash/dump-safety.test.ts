// Never destroy: `lkst recover` refuses an output that is its input (by inode, through links) and
// inputs it cannot read in place, and writes its output beside the target, renaming it into place.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { closeSync, copyFileSync, linkSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LkstError } from '../../src/base/errors.js';
import { scanProgress } from '../../src/cli/commands/recover.js';
import { recoverFromDump } from '../../src/crash/recover.js';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';

const kernel = fetchKernel('6.1');
const skip = 'skip' in kernel ? kernel.skip : false;

describe('lkst recover never destroys its input', { skip }, () => {
  let g: CrashedGuest;
  let dir: string;
  before(async () => {
    g = await crashedGuest((kernel as { dir: string }).dir, { formats: ['elf', 'kdump-zlib'] });
    dir = mkdtempSync(join(tmpdir(), 'lkst-dumpsafe-'));
  });
  after(() => {
    g?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an output that is the input (same path, a hard link, or the input named through a symbolic link) is refused and the dump is kept', () => {
    const dump = join(dir, 'd.kdump');
    copyFileSync(g.dumps['kdump-zlib']!, dump);
    const before = statSync(dump);
    linkSync(dump, join(dir, 'hard'));
    symlinkSync(dump, join(dir, 'soft'));
    for (const [input, output] of [[dump, dump], [dump, join(dir, 'hard')], [join(dir, 'soft'), dump], [join(dir, 'hard'), join(dir, '.', 'd.kdump')]] as const) {
      const r = lkst(['recover', input, '-o', output]);
      assert.ok(isOneLineError(r), `${input} -o ${output}: ${r.stderr}`);
      assert.match(r.stderr, /is the input .*: writing it would destroy what is being read/);
    }
    // An output path that is a symbolic link (to the input or not) would be replaced by the rename: refused too.
    const r = lkst(['recover', dump, '-o', join(dir, 'soft')]);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /is a symbolic link/);
    const now = statSync(dump);
    assert.deepEqual([now.ino, now.size, now.mtimeMs], [before.ino, before.size, before.mtimeMs], 'the dump is untouched');
  });

  test('a FIFO with no writer, a socket and a character device are refused at once in one line', async () => {
    const fifo = join(dir, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const sock = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((res) => server.listen(sock, res));
    try {
      for (const [input, kind] of [[fifo, /FIFO/], [sock, /socket/], ['/dev/zero', /character device/]] as const) {
        // The timeout guards against a hang (an open waiting for a writer); it is not a timed assertion.
        const r = lkst(['recover', input, '-o', join(dir, 'x.dat')], { timeoutMs: 60_000 });
        assert.equal(r.error, undefined, `${input}: finished`);
        assert.ok(isOneLineError(r), `${input}: ${r.stderr}`);
        assert.match(r.stderr, kind);
        assert.match(r.stderr, /not from a pipe or device/);
      }
    } finally {
      server.close();
    }
  });

  test('the output is written under a temporary name beside it and renamed: an old file there is replaced whole, nothing else is left', () => {
    const out = join(dir, 'out.dat');
    writeFileSync(out, 'old');
    const old = statSync(out).ino;
    const r = lkst(['recover', g.dumps.elf!, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(statSync(out).ino, old, 'a new file was renamed over the old one');
    assert.ok(statSync(out).size > 4096);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.out.dat')), [], 'no temporary file is left');
    // A failed recovery leaves the old output as it was.
    const bad = join(dir, 'bad.kdump');
    writeFileSync(bad, Buffer.concat([Buffer.from('KDUMP   '), Buffer.alloc(8192)]));
    const before = statSync(out);
    const f = lkst(['recover', bad, '-o', out]);
    assert.ok(isOneLineError(f), f.stderr);
    assert.deepEqual([statSync(out).ino, statSync(out).size], [before.ino, before.size]);
  });
});

describe('a file with no kernel in it ends in one line, with progress on a terminal for a long scan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-dumpscan-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a 16 GiB sparse file of zeros is refused from its first MiB, without a scan', () => {
    const zeros = join(dir, 'zeros.img');
    writeFileSync(zeros, '');
    truncateSync(zeros, 16 * 2 ** 30);
    const seen: number[] = [];
    assert.throws(() => recoverFromDump(zeros, { progress: (done) => seen.push(done) }), (e: Error) => e instanceof LkstError && /first MiB is all zeros/.test(e.message));
    assert.deepEqual(seen, [], 'nothing was scanned');
    const r = lkst(['recover', zeros, '-o', join(dir, 'z.dat')]);
    assert.ok(isOneLineError(r), r.stderr);
  });

  test('a raw image with no VMCOREINFO is scanned once to its end, telling how far, then refused', () => {
    const img = join(dir, 'nokernel.img');
    writeFileSync(img, '');
    truncateSync(img, 2 ** 30);
    const fd = openSync(img, 'r+');
    writeSync(fd, Buffer.from('not a kernel'), 0, 12, 4096);
    closeSync(fd);
    const seen: Array<[number, number]> = [];
    assert.throws(() => recoverFromDump(img, { progress: (done, total) => seen.push([done, total]) }), (e: Error) => e instanceof LkstError && /no VMCOREINFO/.test(e.message));
    assert.ok(seen.length > 1 && seen.every(([d], i) => i === 0 || d > seen[i - 1]![0]), 'progress only grows');
    assert.deepEqual(seen.at(-1), [2 ** 30, 2 ** 30], 'the scan reached the end');
    // What a terminal sees: one line redrawn in place and cleared at the end.
    let text = '';
    const tty = { isTTY: true, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const p = scanProgress(img, tty);
    for (const [d, t] of seen) p.report!(d, t);
    p.end();
    assert.match(text, /^\rscanning nokernel\.img for the kernel's VMCOREINFO: 0% of 1\.0 GiB/);
    assert.ok(text.endsWith('100% of 1.0 GiB\r\x1b[K'), 'cleared at the end');
    assert.ok(!text.includes('\n'));
    let quiet = '';
    const notTty = { isTTY: false, write: (s: string) => ((quiet += s), true) } as unknown as NodeJS.WriteStream;
    const q = scanProgress(img, notTty);
    assert.equal(q.report, undefined, 'no progress when stderr is not a terminal');
    q.end();
    assert.equal(quiet, '');
  });
});
