// A recording's largest page file becomes the trace file (file/writer.ts writeAdopted): its pages
// stay where the page mover wrote them and the rest is inserted before them. Here CPU 0 records
// most (dd pinned to it), so its pages lie last, after CPU 1's: trace-cmd reads the file by each
// CPU's offset and prints what lkst prints.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lkst } from '../helpers/cli.js';

test('the largest CPU\'s page file becomes the trace: its pages last, trace-cmd\'s report equal to lkst\'s', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-adopt-'));
  try {
    const out = join(dir, 'a.dat');
    const r = lkst(['record', '-q', '-b', '4096', '-e', 'raw_syscalls:*', '-o', out, '--', 'taskset', '-c', '0', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=100000'], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(dir), ['a.dat'], 'no page file or marker is left');
    const dump = spawnSync('trace-cmd', ['dump', '--options', '-i', out], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    const cpus = [...dump.stdout.matchAll(/^\s+(\d+) (\d+)\s+(\d+)\s+\[id, data offset and size\]$/gm)].map((m) => ({ cpu: Number(m[1]), offset: Number(m[2]), size: Number(m[3]) }));
    assert.equal(cpus.length, 2, dump.stdout);
    const largest = cpus.reduce((a, b) => (b.size > a.size ? b : a));
    assert.equal(largest.cpu, 0, `dd ran on CPU 0: ${JSON.stringify(cpus)}`);
    assert.ok(largest.size >= 1 << 20, 'large enough to be adopted');
    assert.equal(largest.offset + largest.size, statSync(out).size, 'its pages end the file');
    assert.ok(cpus.every((c) => c === largest || c.offset < largest.offset), 'after CPU 1\'s');
    const tc = spawnSync('trace-cmd', ['report', '-i', out], { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.equal(tc.status, 0, tc.stderr);
    const mine = lkst(['report', out], { maxBuffer: 1 << 30 });
    assert.equal(mine.status, 0, mine.stderr);
    assert.ok(tc.stdout.split('\n').filter((l) => l.includes(' sys_enter: ')).length >= 100_000, 'dd\'s syscalls are in it');
    assert.equal(mine.stdout, tc.stdout, 'lkst report prints what trace-cmd report prints');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
