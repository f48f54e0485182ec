import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { lkst, lkstStart, isOneLineError, CLI } from '../helpers/cli.js';
import { Instance } from '../../src/tracefs/instance.js';

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-test-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function traceCmdEventCount(file: string, event: string): number {
  const out = execFileSync('trace-cmd', ['report', file], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.includes(` ${event}:`)).length;
}

test('lkst record -- COMMAND writes a trace.dat that trace-cmd reports, with the command its events', () =>
  withDir((dir) => {
    const out = join(dir, 'cmd.dat');
    const r = lkst(['record', '-e', 'sched:sched_process_exec', '-e', 'sched:sched_process_exit', '-o', out, '--', 'sh', '-c', '/bin/true; /bin/true; exit 3']);
    assert.equal(r.status, 3, `exit code of the command is passed on: ${r.stderr}`);
    assert.match(r.stderr, /total \d[\d,]* events/);
    assert.ok(traceCmdEventCount(out, 'sched_process_exec') >= 2);
    assert.deepEqual(readdirSync(dir), ['cmd.dat'], 'no page files or temp files left');
  }));

test('lkst record -d stops after the duration; the default set records LKST events', () =>
  withDir((dir) => {
    const out = join(dir, 'def.dat');
    const r = lkst(['record', '-d', '1', '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(traceCmdEventCount(out, 'sched_switch') > 0);
  }));

test('the quick start: record -d with --show prints statistics and the last events', () =>
  withDir((dir) => {
    const out = join(dir, 'show.dat');
    const r = lkst(['record', '-d', '1', '--show', '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Events per type/);
    assert.match(r.stdout, /sched:sched_switch\s+[\d,]+/);
    const tail = r.stdout.split('Last events')[1]!.trim().split('\n').slice(1);
    assert.equal(tail.length, 20);
    const report = execFileSync(process.execPath, [CLI, 'report', out], { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.deepEqual(report.trimEnd().split('\n').slice(-20), tail, 'the last events are the report\'s last lines');
  }));

test('Ctrl-C stops a recording and still writes the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-test-'));
  try {
    const out = join(dir, 'int.dat');
    const child = lkstStart(['record', '-e', 'sched:sched_switch', '-o', out]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, stderr);
    assert.ok(existsSync(out));
    assert.ok(traceCmdEventCount(out, 'sched_switch') > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input gives one line, a non-zero exit and no stack trace', () =>
  withDir((dir) => {
    const cases: string[][] = [
      ['record', '-e', 'PROCES_CONTEXTSWITCH', '-d', '1', '-o', join(dir, 'x.dat')],
      ['record', '-e', 'nosuchsys:*', '-d', '1', '-o', join(dir, 'x.dat')],
      ['record', '-e', 'sched:sched_switch', '-d', '0.2', '-o', join(dir, 'missing-dir', 'x.dat')],
      ['record', '-e', 'sched:sched_switch', '-d', '0.2', '-o', dir],
      ['record', '-b', 'lots', '-d', '1'],
    ];
    for (const args of cases) {
      const r = lkst(args);
      assert.ok(isOneLineError(r), `${args.join(' ')} -> ${r.status} ${r.stderr}`);
      assert.deepEqual(Instance.listNames().filter((n) => n.startsWith(`lkst-${r.pid}-`)), [], 'no instance left behind');
    }
    const typo = lkst(cases[0]!);
    assert.match(typo.stderr, /did you mean PROCESS_CONTEXTSWITCH/);
  }));

test('not root: a clear one-line error', () => {
  const r = lkst(['record', '-d', '1', '-o', '/tmp/lkst-test-notroot.dat'], { uid: 65534 });
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /root/);
});
