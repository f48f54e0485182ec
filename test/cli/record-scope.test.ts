/** lkst record -P / --follow / -F from the command line: a scoped recording runs, bad combinations are one-line refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOneLineError, lkst } from '../helpers/cli.js';

test('record -F -- CMD records the command and exits with its status', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-scope-cli-'));
  try {
    const out = join(dir, 'f.dat');
    const r = lkst(['record', '-F', '-e', 'sched:sched_process_exec', '-o', out, '--', '/bin/sh', '-c', 'exit 3']);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /of \/bin\/sh and its children/);
    assert.ok(existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [args, why] of [
  [['-F'], /-F records the command after --, and none was given/],
  [['--follow', '-d', '1'], /--follow follows the processes of -P/],
  [['-P', '4194305', '-d', '1'], /no process 4194305/],
  [['-P', '1', '-F', '--', '/bin/true'], /-F and -P exclude each other/],
  [['-F', '--', 'no-such-command-lkst'], /cannot run no-such-command-lkst/],
] as const)
  test(`record ${args.join(' ')} is refused in one line`, () => {
    const r = lkst(['record', '-q', '-e', 'sched:sched_switch', '-o', join(tmpdir(), 'never.dat'), ...args]);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, why);
  });

test('record -P abc is refused as a bad argument, as commander refuses any', () => {
  const r = lkst(['record', '-q', '-P', 'abc']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /'abc' is not a process id: give PID\[,PID\.\.\.\]/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
