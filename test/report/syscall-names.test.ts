// Syscall names where raw_syscalls give only numbers: report --syscall-names and SQL's name column;
// the default report stays trace-cmd's text.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lkst } from '../helpers/cli.js';

test('report --syscall-names names raw_syscalls; SQL has a name column; plain report is unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-sysname-'));
  try {
    const path = join(dir, 's.dat');
    const r = lkst(['record', '-e', 'raw_syscalls:sys_enter', '-e', 'raw_syscalls:sys_exit', '-o', path, '--', 'cat', '/proc/self/stat']);
    assert.equal(r.status, 0, r.stderr);
    const named = lkst(['report', '--syscall-names', path], { maxBuffer: 1 << 28 });
    const bare = lkst(['report', path], { maxBuffer: 1 << 28 });
    assert.equal(named.status, 0, named.stderr);
    // cat opens /proc/self/stat (openat = 257 on x86_64) and reads it (read = 0).
    assert.match(named.stdout, /sys_enter: +NR 257 openat \(/);
    assert.match(named.stdout, /sys_exit: +NR 0 read = \d+/);
    assert.match(bare.stdout, /sys_enter: +NR 257 \(/, 'without the option the text is trace-cmd\'s');
    assert.equal(named.stdout.split('\n').length, bare.stdout.split('\n').length);
    const q = lkst(['query', '--csv', path, "SELECT count(*) AS n FROM sys_enter WHERE name = 'openat' AND id = 257"]);
    assert.equal(q.status, 0, q.stderr);
    assert.ok(Number(q.stdout.trim().split('\n')[1]) > 0, q.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
