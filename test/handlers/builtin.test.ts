/** Each built-in handler on the real kernel: a worker with a known pid does syscalls; we check what was recorded. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { applyMaskset } from '../../src/masksets/session.js';
import { loadMasksetEnv } from '../../src/masksets/env.js';
import { parseMaskset } from '../../src/masksets/parse.js';
import { readLiveState } from '../../src/masksets/live-state.js';
import { LkstError } from '../../src/base/errors.js';
import { between, count, readRecords, tempConfig, withCleanInstance, withWorkers } from '../masksets/kernel.js';

const cfg = tempConfig();
after(() => cfg.done());

const GETPPID = 'syscalls:sys_enter_getppid';
const ms = (name: string, text: string) => parseMaskset(name, text, `${name}.maskset`);

test('record: every getppid of the worker is recorded, nothing else is enabled', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('record', async (inst) => {
    await applyMaskset(inst, ms('r', `${GETPPID} record\n`), { env });
    inst.tracingOn = true;
    await withWorkers(inst, 1, async (w) => {
      await w.run('getppid', 'a', 40);
      await w.run('getuid', 'b', 40);
      const recs = readRecords(inst);
      assert.equal(count(between(recs, 'a'), GETPPID, w.pid), 40);
      assert.equal(count(between(recs, 'b'), 'syscalls:sys_enter_getuid'), 0);
    });
    assert.deepEqual(inst.enabledEvents(), [GETPPID]);
  });
});

test('pid: only the chosen process is recorded (set_event_pid), and the pid can be changed live', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('pid', async (inst) => {
    await withWorkers(inst, 2, async (w1, w2) => {
      await applyMaskset(inst, ms('p', `${GETPPID} pid pids=${w1!.pid}\n`), { env });
      assert.deepEqual(inst.eventPids(), [w1!.pid]);
      inst.tracingOn = true;
      await w1!.run('getppid', 'one', 25);
      await w2!.run('getppid', 'two', 25);
      // The seed's t_pid change: the same handler with another pid, on the running trace.
      const prev = await applyMaskset(inst, ms('p', `${GETPPID} pid pids=${w2!.pid}\n`), { env });
      assert.ok(prev.result.steps.every((s) => s.rel === 'set_event_pid' || s.rel === 'options/event-fork'), 'only the pid set changes');
      await w1!.run('getppid', 'three', 25);
      await w2!.run('getppid', 'four', 25);
      const recs = readRecords(inst);
      assert.equal(count(recs, GETPPID, w1!.pid), 25, 'w1 recorded before the change only');
      assert.equal(count(recs, GETPPID, w2!.pid), 25, 'w2 recorded after the change only');
      assert.equal(count(between(recs, 'one'), GETPPID, w1!.pid), 25);
      assert.equal(count(between(recs, 'four'), GETPPID, w2!.pid), 25);
    });
  });
});

test('pid with follow: children forked later are recorded, other processes are not', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('follow', async (inst) => {
    await withWorkers(inst, 2, async (w1, w2) => {
      await applyMaskset(inst, ms('f', `sched:sched_process_exec pid pids=${w1!.pid} follow=true\n`), { env });
      assert.equal(inst.read('options/event-fork').trim(), '1');
      inst.tracingOn = true;
      await w1!.run('exec', 'one', 3);
      await w2!.run('exec', 'two', 3);
      const recs = readRecords(inst);
      const execs = recs.filter((r) => r.name === 'sched:sched_process_exec');
      assert.equal(count(between(recs, 'one'), 'sched:sched_process_exec'), 3, "w1's three children");
      assert.equal(count(between(recs, 'two'), 'sched:sched_process_exec'), 0, "w2's children are not followed");
      assert.ok(execs.every((r) => r.pid !== w1!.pid && r.pid !== w2!.pid), 'the records are the children');
    });
  });
});

test('pid on events with different pid sets uses common_pid filters instead of set_event_pid', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('pids2', async (inst) => {
    await withWorkers(inst, 2, async (w1, w2) => {
      await applyMaskset(inst, ms('p2', `${GETPPID} pid pids=${w1!.pid}\nsyscalls:sys_enter_getuid pid pids=${w2!.pid}\n`), { env });
      assert.deepEqual(inst.eventPids(), []);
      assert.equal(inst.filter('syscalls', 'sys_enter_getppid'), `common_pid == ${w1!.pid}`);
      inst.tracingOn = true;
      await w1!.run('mixed', 'one', 10);
      await w2!.run('mixed', 'two', 10);
      const recs = readRecords(inst);
      assert.equal(count(between(recs, 'one'), GETPPID, w1!.pid), 10);
      assert.equal(count(recs, GETPPID, w2!.pid), 0);
      assert.equal(count(recs, 'syscalls:sys_enter_getuid', w1!.pid), 0);
      assert.equal(count(between(recs, 'two'), 'syscalls:sys_enter_getuid', w2!.pid), 10);
    });
  });
});

test('pid as a filter keeps sched_switch into the process as well as out of it, and wakeups of it', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('pidsw', async (inst) => {
    await withWorkers(inst, 2, async (w1, w2) => {
      // Two pid sets: set_event_pid cannot serve, the handler filters each tracepoint.
      await applyMaskset(inst, ms('psw', `sched:sched_switch pid pids=${w1!.pid}\nsched:sched_wakeup pid pids=${w1!.pid}\nsyscalls:sys_enter_getuid pid pids=${w2!.pid}\n`), { env });
      assert.deepEqual(inst.eventPids(), []);
      assert.equal(inst.filter('sched', 'sched_switch'), `prev_pid == ${w1!.pid} || next_pid == ${w1!.pid}`);
      inst.tracingOn = true;
      // Each run wakes the worker from its wait on stdin and puts it back to sleep.
      for (let i = 0; i < 3; i++) await w1!.run('getppid', `one${i}`, 5);
      await w2!.run('getuid', 'two', 5);
      const recs = readRecords(inst, ['sched:sched_switch', 'sched:sched_wakeup']);
      const sw = recs.filter((r) => r.name === 'sched:sched_switch');
      assert.ok(sw.every((r) => r.fields!['prev_pid'] === w1!.pid || r.fields!['next_pid'] === w1!.pid), 'only switches of the worker');
      assert.ok(sw.some((r) => r.fields!['prev_pid'] === w1!.pid), 'switches out of the worker');
      assert.ok(sw.some((r) => r.fields!['next_pid'] === w1!.pid), 'switches into the worker');
      const wake = recs.filter((r) => r.name === 'sched:sched_wakeup');
      assert.ok(wake.every((r) => r.pid === w1!.pid || r.fields!['pid'] === w1!.pid), 'only wakeups by or of the worker');
      assert.ok(wake.some((r) => r.fields!['pid'] === w1!.pid && r.pid !== w1!.pid), 'the worker woken by another task');
      assert.equal(count(between(recs, 'two'), 'syscalls:sys_enter_getuid', w2!.pid), 5);
    });
  });
});

test('filter: only matching events are recorded; a rejected expression carries the kernel reason', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('filter', async (inst) => {
    await withWorkers(inst, 2, async (w1, w2) => {
      await applyMaskset(inst, ms('f', `${GETPPID} filter expr="common_pid == ${w2!.pid}"\n`), { env });
      inst.tracingOn = true;
      await w1!.run('getppid', 'one', 20);
      await w2!.run('getppid', 'two', 20);
      const recs = readRecords(inst);
      assert.equal(count(recs, GETPPID, w1!.pid), 0);
      assert.equal(count(recs, GETPPID, w2!.pid), 20);
    });
    const before = inst.filter('syscalls', 'sys_enter_getppid');
    await assert.rejects(applyMaskset(inst, ms('bad', `${GETPPID} filter expr="nosuchfield == 3"\n`), { env }), (err: unknown) => {
      assert.ok(err instanceof LkstError);
      assert.match(err.message, /^bad\.maskset:1 syscalls:sys_enter_getppid filter: the kernel rejected the filter 'nosuchfield == 3'/);
      assert.match(err.message, /Field not found at position \d+/);
      return true;
    });
    assert.equal(inst.filter('syscalls', 'sys_enter_getppid'), before, 'the rejected maskset changed nothing');
  });
});

test('stack: each recorded event is followed by a kernel stack', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('stack', async (inst) => {
    await applyMaskset(inst, ms('s', `${GETPPID} stack\n`), { env });
    inst.tracingOn = true;
    await withWorkers(inst, 1, async (w) => {
      await w.run('getppid', 'a', 10);
      const recs = between(readRecords(inst), 'a').filter((r) => r.pid === w.pid);
      assert.equal(count(recs, GETPPID), 10);
      assert.equal(count(recs, 'ftrace:kernel_stack'), 10);
    });
  });
});

test('stop: the buffer freezes when the event fires; what led up to it is kept', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('stop', async (inst) => {
    await withWorkers(inst, 1, async (w) => {
      await applyMaskset(inst, ms('st', `${GETPPID} record\nsyscalls:sys_enter_kill stop if="common_pid == ${w.pid}"\n`), { env });
      inst.tracingOn = true;
      await w.run('getppid', 'before', 15);
      await w.run('kill', 'kill', 1);
      await w.run('getppid', 'after', 15);
      assert.equal(inst.tracingOn, false, 'traceoff fired');
      const recs = readRecords(inst);
      assert.equal(count(between(recs, 'before'), GETPPID, w.pid), 15);
      assert.equal(count(recs, 'syscalls:sys_enter_kill', w.pid), 1, 'the stopping event itself is kept');
      assert.equal(count(recs, GETPPID, w.pid), 15, 'nothing after the stop');
      assert.ok(!recs.some((r) => r.text === 'begin after'));
    });
  });
});

test('switch: when the event fires, the kernel itself turns the other maskset on and this one off', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('evswitch', async (inst) => {
    await withWorkers(inst, 1, async (w) => {
      const a = ms('a', `${GETPPID} record\nsyscalls:sys_enter_kill switch to=b if="common_pid == ${w.pid}"\n`);
      const b = ms('b', `syscalls:sys_enter_getuid record\n`);
      const envAB = { ...env, loadMaskset: (n: string) => (n === 'a' ? a : n === 'b' ? b : env.store.load(n)) };
      await applyMaskset(inst, a, { env: envAB });
      const live = readLiveState(inst);
      assert.equal(live.tracepoints.get(GETPPID)?.recording, true);
      assert.equal(live.tracepoints.get('syscalls:sys_enter_getuid')?.recording, false, 'b is armed but off');
      inst.tracingOn = true;
      await w.run('mixed', 'in-a', 10);
      await w.run('kill', 'kill', 1);
      await w.run('mixed', 'in-b', 10);
      const after = readLiveState(inst);
      assert.equal(after.tracepoints.get(GETPPID)?.recording, false, 'a turned off by the trigger');
      assert.equal(after.tracepoints.get('syscalls:sys_enter_getuid')?.recording, true, 'b turned on by the trigger');
      const recs = readRecords(inst);
      const inA = between(recs, 'in-a');
      const inB = between(recs, 'in-b');
      assert.equal(count(inA, GETPPID, w.pid), 10);
      assert.equal(count(inA, 'syscalls:sys_enter_getuid', w.pid), 0);
      assert.equal(count(inB, GETPPID, w.pid), 0);
      assert.equal(count(inB, 'syscalls:sys_enter_getuid', w.pid), 10);
      assert.equal(count(between(recs, 'kill'), 'ftrace:kernel_stack', w.pid), 1, 'the stack marks the switch in the trace');
    });
  });
});

test('switch record=true: the event that fired the switch is in the trace, though the maskset switched to lacks it', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('evswitchrec', async (inst) => {
    await withWorkers(inst, 1, async (w) => {
      const a = ms('a', `${GETPPID} record\nsyscalls:sys_enter_kill switch to=b record=true if="common_pid == ${w.pid}"\n`);
      const b = ms('b', `syscalls:sys_enter_getuid record\n`);
      const envAB = { ...env, loadMaskset: (n: string) => (n === 'a' ? a : n === 'b' ? b : env.store.load(n)) };
      await applyMaskset(inst, a, { env: envAB });
      assert.ok(!inst.triggers('syscalls', 'sys_enter_kill').some((t) => t.startsWith('disable_event:syscalls:sys_enter_kill')), 'the firing event does not turn itself off');
      inst.tracingOn = true;
      await w.run('mixed', 'in-a', 5);
      await w.run('kill', 'kill', 1);
      await w.run('mixed', 'in-b', 5);
      await w.run('kill', 'kill-again', 1);
      const recs = readRecords(inst);
      assert.equal(count(between(recs, 'kill'), 'syscalls:sys_enter_kill', w.pid), 1, 'the firing kill is recorded');
      assert.equal(count(between(recs, 'kill'), 'ftrace:kernel_stack', w.pid), 1, 'with its switch marker');
      assert.equal(count(between(recs, 'in-b'), GETPPID, w.pid), 0, 'a is off after the switch');
      assert.equal(count(between(recs, 'in-b'), 'syscalls:sys_enter_getuid', w.pid), 5, 'b is on after the switch');
      assert.equal(count(between(recs, 'kill-again'), 'syscalls:sys_enter_kill', w.pid), 1, 'the firing event stays recorded after the switch');
    });
  });
});
