import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
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
    // Ctrl-C once it says it records (before that, on a busy machine, it may still be starting up).
    const recording = new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/lkst: recording /.test(stderr)) resolve();
      }),
    );
    const exited = once(child, 'exit');
    await Promise.race([recording, exited]);
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const [code] = await exited;
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

/** The events of a trace as trace-cmd reports them: [event name, the rest of the line]. */
function traceCmdEvents(file: string): [string, string][] {
  const out = execFileSync('trace-cmd', ['report', file], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return [...out.matchAll(/ (\w+):\s+(.*)$/gm)].map((m) => [m[1]!, m[2]!]);
}

test('-f filters the -e before it, in the kernel; a rejected expression gives the kernel reason and position', () =>
  withDir((dir) => {
    const out = join(dir, 'f.dat');
    const r = lkst(['record', '-q', '-e', 'sched:sched_process_exit', '-e', 'sched:sched_process_exec', '-f', 'filename ~ "*/true"', '-o', out, '--', 'sh', '-c', '/bin/true; /bin/echo >/dev/null; /bin/true']);
    assert.equal(r.status, 0, r.stderr);
    const events = traceCmdEvents(out);
    const execs = events.filter(([e]) => e === 'sched_process_exec').map(([, rest]) => /filename=(\S+)/.exec(rest)?.[1]);
    assert.ok(execs.length >= 2, `both /bin/true are recorded: ${execs}`);
    assert.deepEqual(execs.filter((f) => f !== '/bin/true'), [], 'the exec of /bin/echo (and any other) is filtered out');
    assert.ok(events.filter(([e]) => e === 'sched_process_exit').length >= 3, 'the -e without -f is not filtered');

    const bad = lkst(['record', '-q', '-e', 'sched:sched_switch', '-f', 'prev_pidd == 1', '-d', '1', '-o', out]);
    assert.ok(isOneLineError(bad), bad.stderr);
    assert.match(bad.stderr, /Field not found at position 10 in 'prev_pidd == 1'/);
    const orphan = lkst(['record', '-f', 'prev_pid == 1', '-e', 'sched:sched_switch', '-d', '1', '-o', out]);
    assert.notEqual(orphan.status, 0);
    assert.match(orphan.stderr, /-f filters the -e before it/);
  }));

test('-e adds to -m, repeated -m merge, and two masksets giving one event different handlers are refused', () =>
  withDir((dir) => {
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'masksets'), { recursive: true });
    writeFileSync(join(etc, 'masksets', 'execs.maskset'), 'sched:sched_process_exec record\nsched:sched_process_exit record\n');
    writeFileSync(join(etc, 'masksets', 'exits.maskset'), 'sched:sched_process_exit record\n');
    writeFileSync(join(etc, 'masksets', 'filtered.maskset'), 'sched:sched_process_exit filter expr="pid == 1"\n');
    const env = { ...process.env, LKST_CONFIG_DIR: etc, LKST_STATE_DIR: join(dir, 'run') };
    const out = join(dir, 'm.dat');
    const r = lkst(['record', '-q', '-m', 'execs', '-m', 'exits', '-e', 'sched:sched_process_fork', '-o', out, '--', 'sh', '-c', '/bin/true; /bin/true'], { env });
    assert.equal(r.status, 0, r.stderr);
    const counts = new Map<string, number>();
    for (const [e] of traceCmdEvents(out)) counts.set(e, (counts.get(e) ?? 0) + 1);
    for (const e of ['sched_process_exec', 'sched_process_exit', 'sched_process_fork']) assert.ok((counts.get(e) ?? 0) >= 2, `${e}: ${counts.get(e)}`);
    assert.equal(counts.get('sched_switch'), undefined, 'only what the masksets and -e name');

    const clash = lkst(['record', '-m', 'exits', '-m', 'filtered', '-d', '1', '-o', out], { env });
    assert.ok(isOneLineError(clash), clash.stderr);
    assert.match(clash.stderr, /masksets exits and filtered give sched:sched_process_exit different handlers \(record; filter expr=pid == 1\)/);
  }));

test('a command killed by a signal: lkst record exits 128 + the signal, as a shell does', () =>
  withDir((dir) => {
    const r = lkst(['record', '-q', '-e', 'sched:sched_process_exit', '-o', join(dir, 'k.dat'), '--', 'sh', '-c', 'kill -TERM $$']);
    assert.equal(r.status, 143, r.stderr);
    assert.deepEqual(readdirSync(dir), ['k.dat']);
  }));

test('no page files are left by a refused recording, and `lkst reset` removes those of a killed one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-test-'));
  const env = { ...process.env, LKST_STATE_DIR: join(dir, 'run') };
  const work = join(dir, 'work');
  mkdirSync(work);
  try {
    const refused = lkst(['record', '-q', '-e', 'sched:sched_switch', '-f', 'prev_pid ==', '-d', '1', '-o', join(work, 'r.dat')], { env, cwd: work });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /the kernel rejected the filter/);
    assert.deepEqual(readdirSync(work), [], 'a refused -f leaves nothing');

    const child = spawn(process.execPath, [CLI, 'record', '-q', '-e', 'sched:sched_switch', '-o', join(work, 'killed.dat')], { env, cwd: work, stdio: 'ignore' });
    // Wait (without a clock) until the recorder has made its page files, then kill it outright.
    while (!readdirSync(work).some((n) => n.startsWith(`.lkst-${child.pid}-cpu`))) await new Promise((r) => setImmediate(r));
    child.kill('SIGKILL');
    await once(child, 'exit');
    const pages = readdirSync(work).filter((n) => n.endsWith('.pages'));
    assert.ok(pages.length > 0, 'SIGKILL left the page files');
    const reset = lkst(['reset'], { env });
    assert.equal(reset.status, 0, reset.stderr);
    // Killed before it wrote its journal, the files are removed; after, reset writes the trace
    // from them (test/record/interrupted.test.ts) and removes them too.
    const recovered = reset.stdout.includes(`wrote ${join(work, 'killed.dat')}`);
    if (!recovered) for (const p of pages) assert.match(reset.stdout, new RegExp(`^removed ${join(work, p).replace(/[.]/g, '\\.')}$`, 'm'));
    assert.deepEqual(readdirSync(work).filter((n) => n.endsWith('.pages')), [], 'reset removed the dead recorder\'s page files');
    assert.deepEqual(Instance.listNames().filter((n) => n.startsWith(`lkst-${child.pid}-`)), [], 'and its instance');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
