/**
 * Ownership and half-done changes, on the real kernel, through the CLI as separate processes:
 * kill -9 at chosen points (LKST_FAULT) of `maskset switch` and `buffer switch`, then the next
 * command; two state directories on one instance; commands from another shell against a running
 * `lkst record -m`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Instance } from '../../src/tracefs/instance.js';
import { MasksetStore } from '../../src/masksets/store.js';
import { loadMasksetEnv } from '../../src/masksets/env.js';
import { compileMaskset } from '../../src/masksets/compile.js';
import { diffPlan, liveFor } from '../../src/masksets/apply.js';
import { localPlan } from '../../src/masksets/plan.js';
import { targetPlans } from '../../src/masksets/targets.js';
import { kernelDrift } from '../../src/masksets/status.js';
import { readState } from '../../src/masksets/state.js';
import { resetArmed, startTrace } from '../../src/masksets/session.js';
import { journalPath, removeJournal, writeJournal } from '../../src/base/journal.js';
import { processState, selfIdentity } from '../../src/base/owner.js';
import { bufferInstanceName } from '../../src/buffers/name.js';
import { createBuffer, deleteBuffer } from '../../src/buffers/buffer.js';
import { CLI, lkst } from '../helpers/cli.js';
import { testBufferName } from '../buffers/helpers.js';
import { tempConfig } from './kernel.js';

const cfg = tempConfig();
const INST = `lkst-${process.pid}-own`;
const BUF = testBufferName('own');
after(() => {
  try {
    resetArmed(INST, { force: true });
  } finally {
    removeBuffer(BUF);
    cfg.done();
  }
});

const X = 'syscalls:sys_enter_getppid record\nsyscalls:sys_enter_getpid record\n';
// Stacks, a switch into a buffer (triggers in two instances) and an in-kernel maskset switch (prepared filters).
// Their conditions never hold here (pid 1 does not exec or call gettid), so the table stays as applied.
const Y = `syscalls:sys_enter_getppid stack\nsyscalls:sys_enter_getuid record\nsched:sched_process_exec switch buffer=${BUF} if="common_pid == 1"\nsyscalls:sys_enter_gettid switch to=ox if="common_pid == 1"\n`;

async function plans(): Promise<{ x: ReturnType<typeof compileMaskset>; y: ReturnType<typeof compileMaskset> }> {
  const env = await loadMasksetEnv();
  return { x: compileMaskset(env.store.load('ox'), env), y: compileMaskset(env.store.load('oy'), env) };
}

async function armX(): Promise<Instance> {
  resetArmed(INST, { force: true });
  await startTrace({ maskset: 'ox', instance: INST });
  return Instance.open(INST);
}

function removeBuffer(name: string): void {
  if (Instance.exists(bufferInstanceName(name))) deleteBuffer(name);
}

const lkstIn = (args: string[], env: NodeJS.ProcessEnv = {}) => lkst(args, { env: { ...process.env, ...env } });

test('setup: masksets and a buffer', () => {
  const store = new MasksetStore();
  store.save('ox', X);
  store.save('oy', Y);
  createBuffer(BUF);
  assert.ok(Instance.exists(bufferInstanceName(BUF)));
});

test('kill -9 at each point of `maskset switch`: status names what is half done, the next command completes it', async (t) => {
  const { x, y } = await plans();
  // Every write the switch makes is a kill point, plus the journal, check, and state points.
  const inst = await armX();
  const local = localPlan(y, INST);
  const writes = diffPlan(liveFor(inst, local), local).map((s) => `apply:${s.phase}:${s.rel}`);
  const targetWrites = targetPlans(inst, y, x).flatMap((tp) => diffPlan(tp.live, tp.plan).map((s) => `apply:${s.phase}:${s.rel}`));
  const points = [...new Set(['maskset:journal', 'apply:checked', ...targetWrites, 'apply:targets-cleared', ...writes, 'apply:local-done', 'maskset:state'])];
  let differed = 0;
  for (const point of points) {
    const armed = await armX();
    const killed = lkstIn(['maskset', 'switch', 'oy'], { LKST_FAULT: point });
    assert.equal(killed.signal, 'SIGKILL', `${point}: not reached (${killed.stderr})`);
    // status changes nothing and names every difference from the table the state file holds.
    const drift = kernelDrift(armed, x);
    if (drift.length) differed++;
    const status = lkstIn(['status']);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /the maskset change ox -> oy by lkst pid \d+ was cut short \(killed\)/, point);
    for (const d of drift) assert.ok(status.stdout.includes(d), `${point}: status names "${d}"`);
    if (point === 'apply:checked') assert.match(status.stdout, new RegExp(`lkst-${killed.pid}-check is a scratch instance left by killed lkst pid ${killed.pid}`));
    // The next command completes the switch: the kernel then matches oy exactly, in both instances.
    const next = lkstIn(['maskset', 'switch', 'oy']);
    assert.equal(next.status, 0, `${point}: ${next.stderr}`);
    assert.match(next.stderr, /completed the change ox -> oy that lkst pid \d+ left half done/);
    assert.doesNotMatch(next.stdout, /left by killed|left half done/, 'notes about a killed lkst go to stderr, apart from the result');
    assert.deepEqual(kernelDrift(armed, y), [], point);
    assert.equal(readState()?.maskset, 'oy');
    assert.equal(existsSync(journalPath()), false);
    assert.equal(Instance.exists(`lkst-${killed.pid}-check`), false, 'no scratch instance left');
  }
  t.diagnostic(`${points.length} kill points; the kernel differed from the table at ${differed}; every one completed by the next command`);
  const reset = lkstIn(['reset']);
  assert.equal(reset.status, 0, reset.stderr);
  assert.equal(Instance.exists(INST), false);
  assert.ok(Instance.exists(bufferInstanceName(BUF)), 'reset never removes a buffer');
  const b = Instance.open(bufferInstanceName(BUF));
  assert.equal(b.tracingOn, false);
  assert.deepEqual(b.enabledEvents(), []);
});

test('kill -9 at each point of `buffer switch`: the next switch leaves exactly one buffer recording; reset keeps the buffers', async (t) => {
  const names = [testBufferName('own1'), testBufferName('own2')];
  try {
    for (const n of names) createBuffer(n);
    const [b1, b2] = names.map(bufferInstanceName) as [string, string];
    const points = ['buffer-switch:journal', 'buffer-switch:flip', 'buffer-switch:state'];
    for (const point of points) {
      await armX();
      for (const n of [b1, b2]) Instance.open(n).tracingOn = false;
      const killed = lkstIn(['buffer', 'switch', names[0]!], { LKST_FAULT: point });
      assert.equal(killed.signal, 'SIGKILL', `${point}: not reached (${killed.stderr})`);
      const next = lkstIn(['buffer', 'switch', names[1]!]);
      assert.equal(next.status, 0, `${point}: ${next.stderr}`);
      assert.match(next.stderr, /(completed|undid) the switch/);
      const recording = [INST, b1, b2].filter((n) => Instance.open(n).tracingOn);
      assert.deepEqual(recording, [b2], `${point}: only the last switch's buffer records`);
      assert.equal(readState()?.instance, b2, 'the armed trace moved along');
      const stop = lkstIn(['stop']);
      assert.equal(stop.status, 0, stop.stderr);
      assert.deepEqual([INST, b1, b2].filter((n) => Instance.open(n).tracingOn), [], 'stop leaves nothing recording');
      const reset = lkstIn(['reset']);
      assert.equal(reset.status, 0, reset.stderr);
      assert.ok(Instance.exists(b1) && Instance.exists(b2), 'reset never removes a buffer');
      assert.deepEqual(Instance.open(b2).enabledEvents(), [], 'the buffer the trace had moved into hooks nothing');
      // The old buffer keeps the events the switch copied (it may be switched back to): reset says so.
      const hooked = Instance.open(b1).enabledEvents().length;
      assert.match(reset.stdout, new RegExp(`kept ${b1}: a buffer, stopped${hooked ? `, ${hooked} events still hooked` : ''}; buffers are yours`));
    }
    t.diagnostic(`${points.length} kill points; after each, one buffer recorded after the next switch and none after stop`);
  } finally {
    for (const n of names) removeBuffer(n);
  }
});

test('two state directories on one instance: the second start is refused, naming the owner; its reset keeps the trace', async () => {
  const a = { LKST_STATE_DIR: join(cfg.root, 'run-a') };
  const b = { LKST_STATE_DIR: join(cfg.root, 'run-b') };
  resetArmed(INST, { force: true });
  const first = lkstIn(['start', '-m', 'ox', '--instance', INST], a);
  assert.equal(first.status, 0, first.stderr);
  const inst = Instance.open(INST);
  const before = inst.enabledEvents().sort();
  const second = lkstIn(['start', '-m', 'oy', '--instance', INST], b);
  assert.notEqual(second.status, 0);
  assert.match(second.stderr, new RegExp(`^lkst: ${INST} belongs to the trace armed by \`lkst start\` \\(user \\w+, state directory ${a.LKST_STATE_DIR}\\); not arming it`));
  assert.deepEqual(inst.enabledEvents().sort(), before, "the first trace's events are untouched");
  assert.equal(inst.tracingOn, true);
  const reset = lkstIn(['reset'], b);
  assert.match(reset.stdout, new RegExp(`kept ${INST}: the trace armed by \`lkst start\` .*state directory ${a.LKST_STATE_DIR}`));
  assert.ok(Instance.exists(INST));
  assert.equal(lkstIn(['stop', '--remove'], a).status, 0);
  assert.equal(Instance.exists(INST), false);
});

test('a running `lkst record -m`: stop and reset from another shell refuse, naming it; --force stops it and the recorder says so', async () => {
  const env = { ...process.env, LKST_STATE_DIR: join(cfg.root, 'run-rec') };
  const out = join(cfg.root, 'rec.dat');
  const rec = spawn(process.execPath, [CLI, 'record', '-m', 'ox', '-o', out, '-q'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  rec.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const name = `lkst-${rec.pid}-rec`;
  const statePath = join(env.LKST_STATE_DIR, 'state.json');
  try {
    // It announces its trace once set up.
    while (!(existsSync(statePath) && readFileSync(statePath, 'utf8').includes(name)) && rec.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    const inst = Instance.open(name);
    const events = inst.enabledEvents().sort();
    assert.ok(events.length >= 2);
    const stop = lkst(['stop'], { env });
    assert.notEqual(stop.status, 0);
    assert.match(stop.stderr, new RegExp(`^lkst: ${name} belongs to live lkst pid ${rec.pid} \\(\`lkst record -m ox .*\`, user \\w+\\); not stopping it`));
    const reset = lkst(['reset'], { env });
    assert.equal(reset.status, 0, reset.stderr);
    assert.match(reset.stdout, new RegExp(`kept ${name}: live lkst pid ${rec.pid} .* uses it; --force stops it`));
    assert.deepEqual(inst.enabledEvents().sort(), events, 'nothing of the recording was changed');
    assert.equal(inst.tracingOn, true);
    // Switching it is what it announced itself for: allowed, and the output says whose trace it is.
    const sw = lkst(['maskset', 'switch', 'ox'], { env });
    assert.equal(sw.status, 0, sw.stderr);
    assert.match(sw.stdout, new RegExp(`${name} is recorded by live lkst pid ${rec.pid} .* which offers it for switching`));
    const forced = lkst(['stop', '--force'], { env });
    assert.equal(forced.status, 0, forced.stderr);
    // The recorder notices (it looks twice a second) and says so.
    while (!/WARNING/.test(err) && rec.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.match(err, new RegExp(`lkst record: WARNING: every event of ${name} was turned off by another command`));
  } finally {
    rec.kill('SIGINT');
    if (rec.exitCode === null) await new Promise((r) => rec.on('close', r));
  }
  assert.equal(rec.exitCode, 1, 'a recording cut short by another command exits non-zero');
  assert.match(err, /lkst: the recording was cut short: every event of/);
  assert.ok(existsSync(out), 'what it recorded is written');
  assert.equal(Instance.exists(name), false, 'the recorder removed its instance');
});

test('after an in-kernel `buffer switch --on` fired, status names the buffer that records; reset stops it and never removes it', async () => {
  await armX();
  const b = bufferInstanceName(BUF);
  Instance.open(b).tracingOn = false;
  const arm = lkstIn(['buffer', 'switch', BUF, '--on', 'task:task_rename', '--if', 'newcomm == "lkst-own-fire"']);
  assert.equal(arm.status, 0, arm.stderr);
  const comm = readFileSync('/proc/self/comm', 'utf8').trim();
  writeFileSync('/proc/self/comm', 'lkst-own-fire');
  writeFileSync('/proc/self/comm', comm);
  assert.equal(Instance.open(b).tracingOn, true, 'the switch fired');
  const status = lkstIn(['status']);
  assert.match(status.stdout, new RegExp(`recording into ${b} \\(a switch handler moved it there\\)`));
  assert.match(status.stdout, new RegExp(`${BUF}.*the armed trace records here`));
  const reset = lkstIn(['reset']);
  assert.equal(reset.status, 0, reset.stderr);
  assert.match(reset.stdout, new RegExp(`${b} stopped, its events off`));
  assert.equal(Instance.exists(INST), false);
  assert.ok(Instance.exists(b), 'the buffer the trace moved into is kept');
  assert.equal(Instance.open(b).tracingOn, false);
  assert.deepEqual(Instance.open(b).enabledEvents(), [], 'nothing lkst made is hooked');
});

test('a process is named by pid, start time, boot id and pid namespace: a reused pid or another namespace is not the owner', () => {
  const me = selfIdentity();
  assert.equal(processState(me), 'alive');
  assert.equal(processState({ ...me, start: me.start + 1 }), 'dead', 'same pid, another start time: a reused pid');
  assert.equal(processState({ ...me, boot: 'another-boot' }), 'dead');
  assert.equal(processState({ ...me, pidns: 'pid:[1]' }), 'unknown', 'another pid namespace cannot be checked from here');
});

test('kill -9 in `start` and in `handler set`: the next command finishes the job, no scratch instance stays', async (t) => {
  const { x } = await plans();
  const startPoints = ['apply:checked', ...[...x.tracepoints.keys()].map((id) => `apply:flip:events/${id.replace(':', '/')}/enable`)];
  for (const point of startPoints) {
    resetArmed(INST, { force: true });
    const killed = lkstIn(['start', '-m', 'ox', '--instance', INST], { LKST_FAULT: point });
    assert.equal(killed.signal, 'SIGKILL', `${point}: not reached (${killed.stderr})`);
    const again = lkstIn(['start', '-m', 'ox', '--instance', INST]);
    assert.equal(again.status, 0, `${point}: ${again.stderr}`);
    assert.deepEqual(kernelDrift(Instance.open(INST), x), [], point);
    assert.equal(Instance.exists(`lkst-${killed.pid}-check`), false, 'no scratch instance left');
  }
  const setPoints = ['maskset:journal', 'apply:checked', 'apply:flip:events/syscalls/sys_enter_getppid/trigger', 'maskset:state'];
  const env = await loadMasksetEnv();
  for (const point of setPoints) {
    await armX();
    const killed = lkstIn(['handler', 'set', 'syscalls:sys_enter_getppid', 'stack'], { LKST_FAULT: point });
    assert.equal(killed.signal, 'SIGKILL', `${point}: not reached (${killed.stderr})`);
    const next = lkstIn(['handler', 'set', 'syscalls:sys_enter_getppid', 'stack']);
    assert.equal(next.status, 0, `${point}: ${next.stderr}`);
    assert.match(next.stderr, /completed the change ox -> ox that lkst pid \d+ left half done/);
    const s = readState()!;
    assert.deepEqual(kernelDrift(Instance.open(INST), compileMaskset({ name: s.maskset, description: '', includes: [], entries: s.entries, source: 'test' }, env)), [], point);
    assert.match(Instance.open(INST).triggers('syscalls', 'sys_enter_getppid').join('\n'), /^stacktrace/);
  }
  t.diagnostic(`${startPoints.length} kill points in start, ${setPoints.length} in handler set; each finished by the next command`);
});

test('a change in progress in another process is never interleaved with: the second is refused, naming the first', async () => {
  const { x } = await plans();
  const inst = await armX();
  const s = readState()!;
  // This (live) process holds the journal, as a `maskset switch` midway would.
  writeJournal('maskset', { before: s, after: s });
  try {
    const second = lkstIn(['maskset', 'switch', 'oy']);
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, new RegExp(`^lkst: the maskset change ox -> ox by lkst pid ${process.pid} is in progress: wait for it to end and retry`));
    assert.deepEqual(kernelDrift(inst, x), [], 'nothing was changed');
    const status = lkstIn(['status']);
    assert.match(status.stdout, new RegExp(`the maskset change ox -> ox by lkst pid ${process.pid} is in progress`));
  } finally {
    removeJournal();
  }
});
