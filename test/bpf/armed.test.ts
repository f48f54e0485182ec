// Handlers on BPF without a recorder: `lkst start -m` leaves lkst-bpf-run holding the programs,
// `lkst status` shows their live counts, `lkst stop` detaches them, and after a kill -9 `lkst reset`
// clears what is left. Programs are told apart from other runs' by the ids the runner holds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { Instance } from '../../src/tracefs/instance.js';

const skip = tracepointBpfSkip();
const COPIES = 3000;

function setup(): { dir: string; env: NodeJS.ProcessEnv; instance: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpfarmed-'));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'masksets', 'c.maskset'), 'raw_syscalls:sys_enter count by=pid\nsyscalls:sys_enter_getppid record\n');
  writeFileSync(join(dir, 'etc', 'masksets', 'r.maskset'), 'syscalls:sys_enter_read record engine=bpf\nraw_syscalls:sys_enter count by=pid\n');
  writeFileSync(join(dir, 'etc', 'masksets', 's.maskset'), 'syscalls:sys_enter_read sample every=10\n');
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') }, instance: `lkst-${process.pid}-bpfarm` };
}

/** The runner's pid from lkst start's line. */
function runnerPid(startOut: string): number {
  const m = /held by lkst-bpf-run pid (\d+)/.exec(startOut);
  assert.ok(m, startOut);
  return Number(m[1]);
}

/** Ids of the BPF programs a process holds (its fds' fdinfo: prog_id of programs, of links' programs). */
function heldPrograms(pid: number): number[] {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    const m = /^prog_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (m) ids.add(Number(m[1]));
  }
  return [...ids];
}

/** Ids of every BPF program loaded now. */
function loadedPrograms(): Set<number> {
  const r = spawnSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  return new Set((JSON.parse(r.stdout) as { id: number }[]).map((p) => p.id));
}

/** Which of ids are still loaded, after the kernel had a moment: it frees a closed program in deferred work, which lags under load. */
async function stillLoaded(ids: readonly number[]): Promise<number[]> {
  let left = [...ids];
  for (let i = 0; i < 50 && left.length; i++) {
    const loaded = loadedPrograms();
    left = left.filter((p) => loaded.has(p));
    if (left.length) await sleep(100);
  }
  return left;
}

const gone = (pid: number) => !existsSync(`/proc/${pid}`) || / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')'));

/** `lkst status` until dd's row reaches `least` (the runner rewrites the counts every second: a row may show dd half done). */
async function ddCount(env: NodeJS.ProcessEnv, pid: number, least: number): Promise<number> {
  let seen = -1;
  for (let i = 0; i < 480; i++) {
    const st = lkst(['status'], { env });
    assert.equal(st.status, 0, st.stderr);
    const m = new RegExp(`^ +pid=${pid} +([\\d,]+)$`, 'm').exec(st.stdout);
    if (m) seen = Number(m[1]!.replace(/,/g, ''));
    if (seen >= least) return seen;
    await sleep(250);
  }
  assert.fail(`dd (pid ${pid}) ${seen < 0 ? 'never showed' : `reached only ${seen} of ${least}`} in lkst status`);
}

test('lkst start with count by=pid on BPF: no recorder, status shows dd\'s count live, stop detaches every program', { skip }, async () => {
  const { dir, env, instance } = setup();
  try {
    const start = lkst(['start', '-m', 'c', '--instance', instance], { env, timeoutMs: 120_000 });
    assert.equal(start.status, 0, start.stderr);
    assert.match(start.stdout, /handlers on BPF: 1 programs attached, held by lkst-bpf-run pid \d+/);
    const runner = runnerPid(start.stdout);
    const progs = heldPrograms(runner);
    assert.equal(progs.length, 1, `the runner holds one program: ${progs}`);
    assert.ok(loadedPrograms().has(progs[0]!));
    const dd = spawnSync('sh', ['-c', `dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null & echo $!; wait`], { encoding: 'utf8' });
    const ddPid = Number(dd.stdout.trim());
    // dd's reads and writes, and its few start-up syscalls.
    assert.ok((await ddCount(env, ddPid, 2 * COPIES)) >= 2 * COPIES);
    const st = lkst(['status'], { env });
    assert.match(st.stdout, /handlers on BPF: 1 programs held by lkst-bpf-run pid \d+ \(no recorder/);
    const stop = lkst(['stop'], { env });
    assert.equal(stop.status, 0, stop.stderr);
    assert.match(stop.stdout, /handlers on BPF of .*: 1 programs detached/);
    // The final table, as the runner printed it on SIGTERM: dd's row among the ten busiest or not, the table is there.
    assert.match(stop.stdout, /raw_syscalls:sys_enter count by=pid: [\d,]+ keys/);
    assert.ok(gone(runner), 'the runner ended');
    assert.deepEqual(await stillLoaded(progs), [], 'its program is unloaded');
    assert.ok(!existsSync(join(dir, 'run', 'bpf', instance)), 'its live directory is removed');
  } finally {
    lkst(['reset'], { env });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst start with an alert on BPF: lkst watch prints the armed trace\'s alerts, lkst stop counts them', { skip }, () => {
  const { dir, env, instance } = setup();
  writeFileSync(join(dir, 'etc', 'masksets', 'a.maskset'), 'syscalls:sys_enter_write alert if="count == 7339"\n');
  try {
    const start = lkst(['start', '-m', 'a', '--instance', instance], { env, timeoutMs: 120_000 });
    assert.equal(start.status, 0, start.stderr);
    spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=7339', 'count=3'], { stdio: 'ignore' });
    const w = lkst(['watch', '-n', '3', '--wait', '0'], { env });
    assert.equal(w.status, 0, w.stderr);
    assert.equal(w.stdout.trim().split('\n').filter((l) => / syscalls:sys_enter_write pid=\d+ .*count=7339$/.test(l)).length, 3, w.stdout);
    const stop = lkst(['stop'], { env });
    assert.match(stop.stdout, /^BPF alerts: 3$/m);
  } finally {
    lkst(['reset'], { env });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst maskset switch of an armed trace within its BPF table: one map write by the runner; the target\'s table counts after it', { skip }, () => {
  const { dir, env, instance } = setup();
  writeFileSync(join(dir, 'etc', 'masksets', 'sw.maskset'), 'syscalls:sys_enter_getppid count by=pid\nsyscalls:sys_enter_syncfs switch to=q engine=bpf\n');
  writeFileSync(join(dir, 'etc', 'masksets', 'q.maskset'), 'syscalls:sys_enter_getpid count by=pid\n');
  try {
    const start = lkst(['start', '-m', 'sw', '--instance', instance], { env, timeoutMs: 120_000 });
    assert.equal(start.status, 0, start.stderr);
    const sw = lkst(['maskset', 'switch', 'q'], { env });
    assert.equal(sw.status, 0, sw.stderr);
    assert.match(sw.stdout, /^switched sw -> q: .*; handlers on BPF: one map write in [\d.]+ us/);
    const p = spawnSync('perl', ['-e', 'getppid() for 1..500; syscall(39) for 1..700; print $$'], { encoding: 'utf8' });
    const stop = lkst(['stop'], { env });
    assert.equal(stop.status, 0, stop.stderr);
    // getppid is counted only while sw is in force: none of perl's; getpid (39) under q: its 700 and perl's own.
    const [ppid, pid] = stop.stdout.split(/^syscalls:sys_enter_getpid /m);
    assert.doesNotMatch(ppid!, new RegExp(`^  pid=${p.stdout} `, 'm'), stop.stdout);
    assert.ok(Number(new RegExp(`^  pid=${p.stdout} +([\\d,]+)$`, 'm').exec(pid!)?.[1]?.replace(/,/g, '')) >= 700, stop.stdout);
  } finally {
    lkst(['reset'], { env });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kill -9 of the runner: status says its handlers are dead, reset removes its directory and the instance, no program of it stays', { skip }, async () => {
  const { dir, env, instance } = setup();
  try {
    const start = lkst(['start', '-m', 'c', '--instance', instance], { env, timeoutMs: 120_000 });
    assert.equal(start.status, 0, start.stderr);
    const runner = runnerPid(start.stdout);
    const progs = heldPrograms(runner);
    process.kill(runner, 'SIGKILL');
    while (!gone(runner)) spawnSync('sleep', ['0.05']);
    assert.match(lkst(['status'], { env }).stdout, new RegExp(`handlers on BPF: DEAD, lkst-bpf-run pid ${runner} is gone`));
    const reset = lkst(['reset'], { env });
    assert.equal(reset.status, 0, reset.stderr);
    assert.match(reset.stdout, new RegExp(`lkst-bpf-run pid ${runner} of ${instance} had died`));
    assert.match(reset.stdout, new RegExp(`removed the armed trace ${instance}`));
    assert.ok(!Instance.exists(instance));
    assert.ok(!existsSync(join(dir, 'run', 'bpf', instance)));
    assert.deepEqual(await stillLoaded(progs), [], 'the kernel unloaded its programs');
  } finally {
    lkst(['reset'], { env });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst start: record engine=bpf records on ftrace (no recorder takes BPF records); sample, which exists only on BPF, is refused in one line', { skip }, () => {
  const { dir, env, instance } = setup();
  try {
    const r = lkst(['start', '-m', 'r', '--instance', instance], { env, timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /handlers on BPF: 1 programs attached.*; 1 record\/pid\/filter entries with engine=bpf record on ftrace/);
    assert.deepEqual(Instance.open(instance).enabledEvents(), ['syscalls:sys_enter_read']);
    assert.equal(lkst(['stop', '--remove'], { env }).status, 0);
    const s = lkst(['start', '-m', 's', '--instance', instance], { env, timeoutMs: 120_000 });
    assert.ok(isOneLineError(s), s.stderr);
    assert.match(s.stderr, /s\.maskset:1 .*record on BPF makes records, and an armed trace has no recorder/);
    assert.ok(!Instance.exists(instance));
    assert.ok(!existsSync(join(dir, 'run', 'bpf', instance)));
  } finally {
    lkst(['reset'], { env });
    rmSync(dir, { recursive: true, force: true });
  }
});
