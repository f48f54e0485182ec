import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { CLI, lkst } from '../helpers/cli.js';
import { Instance } from '../../src/tracefs/instance.js';

let seq = 0;

/** A directory with a uniquely named link to /bin/true: its execs are this test's and no one else's. */
function withWorkload<T>(fn: (dir: string, exe: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-stream-'));
  const exe = join(dir, `lkst-uniq-${process.pid}-${++seq}`);
  symlinkSync('/bin/true', exe);
  return (async () => {
    try {
      return await fn(dir, exe);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
}

/** Only the execs of the workload's program. */
const execsOf = (exe: string) => ['-e', 'sched:sched_process_exec', '-f', `filename ~ "${exe}"`];

function run(args: string[], env?: NodeJS.ProcessEnv): ChildProcess & { out: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const out = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return Object.assign(child, { out });
}

/**
 * A report line without its task name (the name saved_cmdlines gives a pid may change while a
 * stream runs) and time (each buffer stamps an event with its own read of the clock).
 */
function withoutCommAndTime(line: string): string {
  return line.replace(/^.*-(\d+)\s+(\[\d+\]) +\d+\.\d+:/, '$1 $2');
}

/** The numbers of the closing line: streamed, lost, counted at the marks, not counted at a mark. */
function totals(stderr: string): { streamed: number; lost: number; counted: number; uncounted: number } {
  const num = (s: string | undefined) => Number((s ?? '0').replace(/,/g, ''));
  const m = /streamed ([\d,]+) events in [\d.]+ s, ([\d,]+) lost(?:: ([\d,]+) counted at the marks in the output, ([\d,]+) at marks without a count)?/.exec(stderr);
  assert.ok(m, `a closing line with the totals: ${stderr}`);
  return { streamed: num(m[1]), lost: num(m[2]), counted: num(m[3]), uncounted: num(m[4]) };
}

test('lkst stream prints the lines lkst report prints for the same events', () =>
  withWorkload(async (dir, exe) => {
    // Both are armed before the workload runs and stop after it: the recording's command waits for
    // the stream's to open a gate, runs the workload and says it is done.
    const gate = join(dir, 'gate');
    const done = join(dir, 'done');
    const file = join(dir, 'same.dat');
    const rec = run(['record', '-q', ...execsOf(exe), '-o', file, '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; ${exe}; ${exe}; ${exe}; touch ${done}`]);
    const str = run(['stream', ...execsOf(exe), '--', 'sh', '-c', `touch ${gate}; while [ ! -e ${done} ]; do sleep 0.05; done`]);
    // One that ends early (it failed) must not leave the other's command waiting for ever: its gate
    // or done file is made when it ends, and the failure shows below with its stderr.
    void str.out.then(() => writeFileSync(gate, ''));
    void rec.out.then(() => writeFileSync(done, ''));
    const [r, s] = await Promise.all([rec.out, str.out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.code, 0, s.stderr);
    const report = lkst(['report', file]);
    assert.equal(report.status, 0, report.stderr);
    // Two buffers, each with its own copy of each event. Each also has the marker its maskset (-e with -f) wrote, from its own pid: the execs are the same.
    const execs = (out: string) => out.split('\n').filter((l) => / sched_process_exec: /.test(l));
    assert.equal(execs(report.stdout).length, 3, report.stdout);
    assert.equal(s.stdout.split('\n')[0], report.stdout.split('\n')[0], 'the same first line (cpus=N)');
    assert.deepEqual(execs(s.stdout).map(withoutCommAndTime), execs(report.stdout).map(withoutCommAndTime));
    for (const l of execs(s.stdout)) assert.match(l, new RegExp(`^ +\\S+-\\d+ +\\[\\d{3}\\] +\\d+\\.\\d{6}: sched_process_exec: +filename=${exe} pid=\\d+ old_pid=\\d+$`));
    assert.deepEqual(totals(s.stderr), { streamed: 4, lost: 0, counted: 0, uncounted: 0 }, 'the marker and the three execs');
  }));

test('lkst stream --json: each of the workload\'s events once, with its fields; the command\'s output goes to stderr', () =>
  withWorkload((_dir, exe) => {
    const r = lkst(['stream', '--json', ...execsOf(exe), '--', 'sh', '-c', `${exe}; echo from-the-command; ${exe}; exit 4`]);
    assert.equal(r.status, 4, `the command's exit code: ${r.stderr}`);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { ts: number; cpu: number; pid: number; event: string; system: string; fields: { filename: string; pid: number; old_pid: number } })
      .filter((e) => e.event !== 'print'); // the maskset's marker
    assert.equal(events.length, 2, r.stdout);
    for (const e of events) {
      assert.equal(e.event, 'sched_process_exec');
      assert.equal(e.system, 'sched');
      assert.equal(e.fields.filename, exe);
      assert.equal(e.fields.pid, e.pid);
      assert.equal(e.fields.old_pid, e.pid);
    }
    assert.ok(events[0]!.ts <= events[1]!.ts, 'in time order');
    assert.notEqual(events[0]!.pid, events[1]!.pid);
    assert.match(r.stderr, /^from-the-command$/m);
  }));

test('lkst stream | head: ends at once when its reader leaves, exit 0, nothing left in the kernel', async () => {
  const child = spawn(process.execPath, [CLI, 'stream', '-e', 'sched:sched_switch'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // head -n 3: read three lines, then close the pipe.
  let text = '';
  for await (const chunk of child.stdout.setEncoding('utf8')) {
    text += chunk;
    if (text.split('\n').length > 3) break;
  }
  child.stdout.destroy();
  const [code, signal] = await once(child, 'exit');
  assert.equal(signal, null);
  assert.equal(code, 0, stderr);
  assert.match(text, /^cpus=\d+\n.* sched_switch: /);
  assert.doesNotMatch(stderr, /error|EPIPE/i);
  assert.deepEqual(Instance.listNames().filter((n) => n.startsWith(`lkst-${child.pid}-`)), [], 'its instance is gone');
});

test('a storm into a tiny buffer: losses are marked where they happened, and the marks add up to the exact total', () => {
  const r = lkst(['stream', '-b', '4', '-e', 'raw_syscalls:sys_enter', '-f', 'comm == "dd"', '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=30000'], { maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const marks = lines.filter((l) => /^CPU:\d+ \[(\d+ )?EVENTS DROPPED\]$/.test(l));
  const counted = marks.reduce((n, l) => n + Number(/\[(\d+) EVENTS/.exec(l)?.[1] ?? 0), 0);
  const events = lines.filter((l) => / (sys_enter|print): /.test(l)).length; // print: the maskset's marker
  const t = totals(r.stderr);
  assert.ok(t.lost > 0, `a 4 KiB buffer loses under this storm: ${r.stderr}`);
  assert.ok(marks.length > 0, 'the losses are marked in the output');
  assert.equal(t.streamed, events, 'every event printed is counted');
  assert.equal(counted, t.counted, 'the counts at the marks are the closing line\'s');
  assert.equal(t.counted + t.uncounted, t.lost, 'marks and the rest add up to the total');
  // dd makes two syscalls a byte, and a few more to start and end: printed + lost is all of them.
  assert.ok(t.streamed + t.lost >= 60000 && t.streamed + t.lost < 60500, `${t.streamed} printed + ${t.lost} lost`);
});

test('a reader that does not read: the stream leaves the events in the kernel, and counts every one it could not print', async () => {
  const child = run(['stream', '-b', '64', '-e', 'raw_syscalls:sys_enter', '-f', 'comm == "dd"', '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=100000']);
  child.stdout!.pause();
  // dd says when it is done (its output goes to the stream's stderr); only then read.
  let err = '';
  child.stderr!.on('data', (d: string) => (err += d));
  while (!/copied/.test(err)) await once(child.stderr!, 'data');
  const status = /VmHWM:\s+(\d+) kB/.exec(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${child.pid}/status`, 'utf8')));
  child.stdout!.resume();
  const r = await child.out;
  assert.equal(r.code, 0, r.stderr);
  const t = totals(r.stderr);
  assert.ok(t.lost > 0, `a stalled reader costs events: ${r.stderr}`);
  assert.equal(t.streamed + t.lost >= 200000 && t.streamed + t.lost < 200500, true, `${t.streamed} printed + ${t.lost} lost: all of dd's syscalls`);
  assert.equal(t.counted + t.uncounted, t.lost);
  // 200,000 events are ~16 MB of text: a stream that kept them all would hold them.
  assert.ok(status && Number(status[1]) < 200_000, `peak memory ${status?.[1]} kB`);
});

test('lkst record -o - streams as lkst stream does', () =>
  withWorkload((_dir, exe) => {
    const shape = (out: string) => out.trimEnd().split('\n').filter((l) => !/ print: /.test(l)).map((l) => l.replace(/^.*-\d+\s+\[\d+\]\s+[\d.]+:/, '').replace(/pid=\d+ old_pid=\d+/, ''));
    const viaRecord = lkst(['record', '-o', '-', ...execsOf(exe), '--', 'sh', '-c', `${exe}; ${exe}`]);
    const viaStream = lkst(['stream', ...execsOf(exe), '--', 'sh', '-c', `${exe}; ${exe}`]);
    assert.equal(viaRecord.status, 0, viaRecord.stderr);
    assert.equal(viaStream.status, 0, viaStream.stderr);
    assert.equal(shape(viaRecord.stdout).length, 3);
    assert.deepEqual(shape(viaRecord.stdout), shape(viaStream.stdout));
    assert.deepEqual(totals(viaRecord.stderr), totals(viaStream.stderr));
    assert.ok(!existsSync('-'), 'no file named -');
    const show = lkst(['record', '-o', '-', '--show', '-d', '1']);
    assert.notEqual(show.status, 0);
    assert.match(show.stderr, /--show reads the recorded file/);
  }));

test('Ctrl-C ends a stream: exit 0, the closing line, nothing left in the kernel', async () => {
  const child = run(['stream', '-e', 'sched:sched_switch']);
  // Once events flow, interrupt it.
  while (!(await once(child.stdout!, 'data')).join('').includes('sched_switch')) {
    /* wait for the first event */
  }
  child.kill('SIGINT');
  const r = await child.out;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(totals(r.stderr).streamed > 0);
  assert.deepEqual(Instance.listNames().filter((n) => n.startsWith(`lkst-${child.pid}-`)), []);
});
