// Nothing recorded is lost when a recording does not end in order: kill -9, the recorder's whole
// process group killed (its buffer still in the kernel), power loss (buffer gone), a full disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { CLI, lkst } from '../helpers/cli.js';
import { Instance } from '../../src/tracefs/instance.js';
import { setTimeout as sleep } from 'node:timers/promises';

interface Scene {
  dir: string;
  env: NodeJS.ProcessEnv;
}

async function withScene(fn: (s: Scene) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-int-'));
  const env = { ...process.env, LKST_STATE_DIR: join(dir, 'run') };
  try {
    await fn({ dir, env });
  } finally {
    // Whatever a failed test left: the dead recorder's instance goes, never another's.
    for (const name of Instance.listNames()) {
      const pid = Number(/^lkst-(\d+)-rec$/.exec(name)?.[1]);
      if (pid && !existsSync(`/proc/${pid}`) && readdirSync(dir).some((f) => f.startsWith(`.lkst-${pid}`))) Instance.open(name).remove();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a recorder in its own process group (so a test can kill it with its page mover). */
function startRecorder(s: Scene, out: string, extra: string[] = []): ChildProcess {
  return spawn(process.execPath, [CLI, 'record', '-q', '-b', '64', '-e', 'sched:sched_switch', '-e', 'raw_syscalls:sys_enter', ...extra, '-o', out], { env: s.env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Waits until the recorder's journal exists (its trace has started) and some pages were moved. */
async function started(s: Scene, child: ChildProcess): Promise<void> {
  const journal = `.lkst-${child.pid}.partial.json`;
  for (let i = 0; i < 200 && !readdirSync(s.dir).includes(journal); i++) await sleep(50);
  assert.ok(readdirSync(s.dir).includes(journal), 'the recorder wrote its journal');
  // Pages reach the files when a buffer is half full: wait for some (a small -b makes that quick).
  const moved = () => readdirSync(s.dir).some((f) => f.startsWith(`.lkst-${child.pid}-cpu`) && statSync(join(s.dir, f)).size > 0);
  for (let i = 0; i < 200 && !moved(); i++) await sleep(50);
  assert.ok(moved(), 'the page mover wrote pages');
  await sleep(300);
}

function pumpsOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'lkst-pump'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function gone(pids: number[]): Promise<void> {
  for (let i = 0; i < 200 && pids.some((p) => existsSync(`/proc/${p}`)); i++) await sleep(25);
}

/** Starts a recorder, lets it record, and kills it (with its page mover when group): returns its pid. */
async function killedRecorder(s: Scene, out: string, group: boolean): Promise<number> {
  const child = startRecorder(s, out);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await started(s, child);
  const pumps = pumpsOf(child.pid!);
  assert.equal(child.exitCode, null, `the recorder still runs when killed (it said: ${stderr})`);
  process.kill(group ? -child.pid! : child.pid!, 'SIGKILL');
  await once(child, 'exit');
  await gone(pumps);
  assert.ok(Instance.exists(`lkst-${child.pid}-rec`), `the killed recorder's instance is still there (it said: ${stderr.trim() || 'nothing'}; exit ${child.exitCode} ${child.signalCode})`);
  return child.pid!;
}

function traceCmdCount(file: string): number {
  const out = execFileSync('trace-cmd', ['report', file], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => / (sched_switch|sys_enter):/.test(l)).length;
}

function statsOf(s: Scene, file: string): { events: number; line: string } {
  const r = lkst(['stats', file], { env: s.env });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.split('\n')[0]!;
  return { events: Number(/^([\d,]+) events/.exec(line)![1]!.replace(/,/g, '')), line };
}

/** The recover line's figures agree with stats and trace-cmd on the written file. */
function checkAgreement(s: Scene, recoverLine: string, file: string): void {
  const st = statsOf(s, file);
  assert.ok(st.events > 0, 'the pages recorded before the kill are in the trace');
  assert.equal(traceCmdCount(file), st.events, 'trace-cmd reads every event lkst counts');
  // stats: "N events from A to B (D), LOSS"; recover: "wrote PATH: N events, LOSS; HOW" (LOSS may hold a ';').
  const loss = st.line.slice(st.line.indexOf('), ') + 3);
  assert.ok(recoverLine.includes(`: ${st.events.toLocaleString('en-US')} events, ${loss}; `), `recover says "${recoverLine}", stats says "${st.line}"`);
}

test('kill -9 of lkst record: the page mover stops the trace and moves every page; recover --partial writes the trace, loss exact', () =>
  withScene(async (s) => {
    const out = join(s.dir, 't.dat');
    const pid = await killedRecorder(s, out, false);
    assert.ok(!existsSync(out), 'the killed recorder wrote no trace itself');
    const notice = lkst(['events', '--fields', 'sched:sched_switch'], { env: s.env });
    assert.match(notice.stderr, new RegExp(`recording by pid ${pid} .* was interrupted; \`lkst recover --partial ${s.dir}\``), 'the next command says so');
    const r = lkst(['recover', '--partial', s.dir], { env: s.env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /was killed; the rest of its buffer was read from lkst-\d+-rec/);
    assert.doesNotMatch(r.stdout, /uncertain/, 'the instance counters make the loss exact');
    checkAgreement(s, r.stdout, out);
    assert.ok(!Instance.exists(`lkst-${pid}-rec`), 'the dead recorder\'s instance is removed');
    assert.deepEqual(readdirSync(s.dir).filter((f) => f.startsWith('.lkst')), [], 'pages and journal are gone once written');
    assert.equal(lkst(['events', '--fields', 'sched:sched_switch'], { env: s.env }).stderr, '', 'no notice once finished');
  }));

test('the whole recorder killed (page mover too): lkst reset reads the rest of the buffer and writes the trace', () =>
  withScene(async (s) => {
    const out = join(s.dir, 't.dat');
    const pid = await killedRecorder(s, out, true);
    const inst = Instance.open(`lkst-${pid}-rec`);
    assert.equal(inst.tracingOn, true, 'nobody stopped the trace');
    // Another state directory's reset keeps the instance: it holds the rest of this recording.
    const other = lkst(['reset'], { env: { ...s.env, LKST_STATE_DIR: join(s.dir, 'other') } });
    assert.equal(other.status, 0, other.stderr);
    assert.match(other.stdout, new RegExp(`kept lkst-${pid}-rec: it holds the rest of the recording lkst pid ${pid} was making when it was killed: \`LKST_STATE_DIR=${s.env.LKST_STATE_DIR} lkst recover --partial ${s.dir}\``));
    assert.ok(Instance.exists(`lkst-${pid}-rec`));
    const r = lkst(['reset'], { env: s.env });
    assert.equal(r.status, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('wrote '));
    assert.ok(line, r.stdout);
    assert.doesNotMatch(r.stdout, /uncertain/);
    checkAgreement(s, line!, out);
    assert.ok(!Instance.exists(`lkst-${pid}-rec`));
  }));

test('the recorder and its buffer gone (as after a power loss): the pages become a trace, the loss after them uncertain with the reason', () =>
  withScene(async (s) => {
    const out = join(s.dir, 't.dat');
    const pid = await killedRecorder(s, out, true);
    rmdirSync(Instance.open(`lkst-${pid}-rec`).path(''));
    const r = lkst(['recover', '--partial', s.dir], { env: s.env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /at least [\d,]+ lost \(uncertain\)/);
    assert.match(r.stdout, /recording cut short: .*its buffer is gone; events after its last page are unknown/);
    checkAgreement(s, r.stdout.split('\n')[0]!, out);
  }));

test('killed while its trace was made from its largest page file: recovery takes the pages back out and writes the same trace', () =>
  withScene(async (s) => {
    const out = join(s.dir, 't.dat');
    const pid = await killedRecorder(s, out, true);
    rmdirSync(Instance.open(`lkst-${pid}-rec`).path(''));
    const mine = readdirSync(s.dir).filter((f) => f.startsWith(`.lkst-${pid}`));
    const aside = join(s.dir, 'aside');
    mkdirSync(aside);
    for (const f of mine) copyFileSync(join(s.dir, f), join(aside, f));
    // As writeAdopted leaves it when killed: the file's head in front of the pages, the marker beside.
    const pages = mine.filter((f) => f.endsWith('.pages')).sort((a, b) => statSync(join(s.dir, b)).size - statSync(join(s.dir, a)).size)[0]!;
    const head = Buffer.alloc(3 * 4096, 0x5a);
    writeFileSync(join(s.dir, pages), Buffer.concat([head, readFileSync(join(s.dir, pages))]));
    writeFileSync(join(s.dir, `${pages}.head`), `${head.length}\n`);
    const r = lkst(['recover', '--partial', s.dir], { env: s.env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /the trace was being written into it; its pages were taken back \(12288 bytes before them\)/);
    checkAgreement(s, r.stdout.split('\n')[0]!, out);
    assert.deepEqual(readdirSync(s.dir).filter((f) => f.startsWith('.lkst')), [], 'pages, marker and journal are gone once written');
    // The same files as they were before the head went in: the same trace.
    for (const f of mine) copyFileSync(join(aside, f), join(s.dir, f));
    const plain = join(s.dir, 'plain.dat');
    const again = lkst(['recover', '--partial', s.dir, '-o', plain], { env: s.env });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(lkst(['report', out]).stdout, lkst(['report', plain]).stdout, 'the same events as from the untouched page files');
  }));

test('a full disk while recording: the recording stops, keeps what it wrote, and recover --partial -o elsewhere writes it with the loss exact', () =>
  withScene(async (s) => {
    const disk = join(s.dir, 'small');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
    try {
      const r = lkst(['record', '-q', '-e', 'sched:sched_switch', '-e', 'raw_syscalls:sys_enter', '-b', '256', '-d', '20', '-o', join(disk, 't.dat')], { env: s.env });
      assert.notEqual(r.status, 0);
      const lines = r.stderr.trim().split('\n');
      const last = lines[lines.length - 1]!;
      // The disk fills while recording (the recording stops) or while the trace file is written.
      assert.match(last, /No space left on device|ENOSPC|no space left/);
      assert.match(last, new RegExp(`kept in ${disk}: make room there, then \`lkst recover --partial ${disk}\``));
      const kept = /the ([\d,]+) events recorded so far are kept/.exec(last);
      const out = join(s.dir, 'full.dat');
      const rec = lkst(['recover', '--partial', disk, '-o', out], { env: s.env });
      assert.equal(rec.status, 0, rec.stderr);
      assert.match(rec.stdout, /the recorder stopped: (it failed while recording|it stopped before its trace file was written)/);
      assert.doesNotMatch(rec.stdout, /uncertain/);
      checkAgreement(s, rec.stdout, out);
      if (kept) assert.equal(statsOf(s, out).events, Number(kept[1]!.replace(/,/g, '')), 'the events the error said were kept are the trace');
    } finally {
      execFileSync('umount', [disk]);
    }
  }));

test('outputs never replace a device, a named pipe, a symbolic link or the input', () =>
  withScene(async (s) => {
    const fifo = join(s.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(s.dir, 'link');
    execFileSync('ln', ['-s', join(s.dir, 'target.dat'), link]);
    const cases: [string[], RegExp][] = [
      [['record', '-d', '1', '-o', '/dev/null'], /\/dev\/null is a device/],
      [['record', '-d', '1', '-o', fifo], /is a named pipe/],
      [['record', '-d', '1', '-o', link], /is a symbolic link/],
    ];
    for (const [args, msg] of cases) {
      const r = lkst(args, { env: s.env });
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.ok(existsSync('/dev/null') && execFileSync('stat', ['-c', '%F', '/dev/null'], { encoding: 'utf8' }).includes('character special'));
    const trace = join(s.dir, 'in.dat');
    assert.equal(lkst(['record', '-q', '-d', '1', '-e', 'sched:sched_switch', '-o', trace], { env: s.env }).status, 0);
    const exp = lkst(['export', trace, '--to', 'csv', '-o', trace], { env: s.env });
    assert.match(exp.stderr, /is the input .*: writing it would destroy what is being read/);
    const exp2 = lkst(['export', trace, '--to', 'csv', '-o', link], { env: s.env });
    assert.match(exp2.stderr, /is a symbolic link/);
    const rec = lkst(['recover', trace, '-o', trace], { env: s.env });
    assert.match(rec.stderr, /is the input/);
    assert.equal(statsOf(s, trace).events > 0, true, 'the input is intact');
  }));
