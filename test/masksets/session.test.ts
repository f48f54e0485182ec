/** The armed trace on the real kernel: start, command-driven switch (diff only, marked, window), missing events, hooks, drift and reset. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Instance } from '../../src/tracefs/instance.js';
import { masksetCreate } from '../../src/masksets/commands.js';
import { masksetSwitch, resetArmed, startTrace, stopTrace, stateMaskset, applyMaskset, announceTrace, forgetTrace } from '../../src/masksets/session.js';
import { statusReport, planDrift } from '../../src/masksets/status.js';
import { readLiveState } from '../../src/masksets/live-state.js';
import { spawn } from 'node:child_process';
import { readState } from '../../src/masksets/state.js';
import { loadMasksetEnv } from '../../src/masksets/env.js';
import { compileMaskset } from '../../src/masksets/compile.js';
import { diffPlan, runSteps, liveFor } from '../../src/masksets/apply.js';
import { parseMaskset } from '../../src/masksets/parse.js';
import { between, count, readRecords, tempConfig, withCleanInstance, withWorkers, Worker } from './kernel.js';
import { tracefs } from '../../src/tracefs/tracefs.js';

const cfg = tempConfig();
after(() => cfg.done());

const GETPPID = 'syscalls:sys_enter_getppid';
const GETUID = 'syscalls:sys_enter_getuid';
const KILL = 'syscalls:sys_enter_kill';
const ARMED = `lkst-${process.pid}-armed`;

async function armed<T>(maskset: string, fn: (inst: Instance) => Promise<T>, opts: { skipMissing?: boolean } = {}): Promise<T> {
  try {
    await startTrace({ maskset, instance: ARMED, ...opts });
    return await fn(Instance.open(ARMED));
  } finally {
    resetArmed(ARMED);
  }
}

test('setup: masksets for the session tests', async () => {
  await masksetCreate({ name: 'a', description: 'a', entries: [`${GETPPID} record`, `${GETUID} record`] });
  await masksetCreate({ name: 'b', description: 'b', entries: [`${GETPPID} record`, `${KILL} record`] });
  await masksetCreate({ name: 'm', description: 'm', entries: [`${GETPPID} record`, 'nosuchsys:nosuchevent record'] });
  assert.ok((await loadMasksetEnv()).store.exists('m'));
});

test('switch changes only what differs, marks the trace, and the shared event runs on', async () => {
  await armed('a', async (inst) => {
    assert.deepEqual(inst.enabledEvents().sort(), [GETPPID, GETUID].sort());
    assert.equal(inst.tracingOn, true);
    await withWorkers(inst, 1, async (w) => {
      await w.run('mixed', 'in-a', 10);
      const out = (await masksetSwitch({ name: 'b' })).text;
      assert.match(out, /^switched a -> b: 2 changes in [\d.]+ us/);
      await w.run('mixed', 'in-b', 10);
      await w.run('kill', 'kill', 1);
      const recs = readRecords(inst);
      const mark = recs.findIndex((r) => r.text === 'lkst: maskset a -> b');
      assert.ok(mark >= 0, 'the switch marker is in the trace');
      assert.equal(count(between(recs, 'in-a'), GETUID, w.pid), 10);
      assert.equal(count(between(recs, 'in-b'), GETUID, w.pid), 0);
      assert.equal(count(between(recs, 'in-a'), GETPPID, w.pid) + count(between(recs, 'in-b'), GETPPID, w.pid), 20);
      assert.equal(count(between(recs, 'kill'), KILL, w.pid), 1);
      assert.ok(recs.slice(mark).every((r) => r.name !== GETUID || r.pid !== w.pid));
    });
    const s = readState()!;
    assert.equal(s.maskset, 'b');
    assert.equal(s.switches.at(-1)?.writes, 2);
    const status = await statusReport();
    assert.match(status, new RegExp(`armed trace in ${ARMED}: maskset b, recording`));
    assert.match(status, /last switch: a -> b/);
    assert.match(status, new RegExp(`${KILL}\\s+record\\s+${KILL} on`));
    assert.match(status, new RegExp(`^  ${ARMED} \\(the armed trace; records here\\): recording`, 'm'), 'the buffers, and where the armed trace records');
    assert.match(status, /^\s+0\s+\d+K\s+\d+K\s+\d+\s+0\s+0/m, 'per CPU');
    assert.doesNotMatch(status, /differs/);
  });
  assert.equal(Instance.exists(ARMED), false);
});

test('under load, an event shared by two masksets loses and repeats nothing across many switches', async (t) => {
  const PREAD = 'syscalls:sys_enter_pread64';
  const env = await loadMasksetEnv();
  const x = parseMaskset('x', `${PREAD} record\n${GETUID} record\n`, 'x');
  const y = parseMaskset('y', `${PREAD} record\n${KILL} record\nsched:sched_process_exec record\n`, 'y');
  // At least 10 switches must fall within the load: a faster machine gets a longer load (each
  // size a fresh instance; 200,000 preads were done within 2 switches on a fast host).
  for (const N of [200_000, 800_000, 3_200_000]) {
    const switched = await withCleanInstance('load', async (inst) => {
      // ~50 bytes a pread record, the rest of the trace besides: nothing may be overwritten.
      inst.bufferSizeKb = Math.max(16384, Math.ceil((N * 64) / 1024));
      await applyMaskset(inst, x, { env });
      inst.tracingOn = true;
      const windows: number[] = [];
      return withWorkers(inst, 1, async (w) => {
        const done = w.run('pread', 'load', N);
        // Switch back and forth while the worker runs; each applies only the differences.
        let plans = [compileMaskset(y, env), compileMaskset(x, env)];
        let switches = 0;
        let finished = false;
        void done.then(() => (finished = true));
        while (!finished && switches < 2000) {
          const r = runSteps(inst, diffPlan(liveFor(inst, plans[0]!), plans[0]!), `lkst: maskset ${plans[1]!.maskset} -> ${plans[0]!.maskset}`);
          windows.push(r.windowNs);
          plans = [plans[1]!, plans[0]!];
          switches++;
          await new Promise((res) => setImmediate(res));
        }
        await done;
        if (switches < 10 && N < 3_200_000) {
          t.diagnostic(`${N} preads were done within ${switches} switches: a longer load`);
          return false;
        }
        const recs = between(readRecords(inst, [PREAD]), 'load').filter((r) => r.name === PREAD && r.pid === w.pid);
        const seen = recs.map((r) => Number(r.fields!['pos']));
        const overrun = inst.cpus().reduce((a, c) => a + inst.cpuStats(c).overrun, 0);
        assert.equal(overrun, 0, 'the buffer held everything');
        assert.ok(switches >= 10, `switched ${switches} times during the run`);
        assert.equal(seen.length, N, 'no pread lost or recorded twice');
        seen.sort((p, q) => p - q);
        assert.ok(seen.every((p, i) => p === i), 'every position 0..N-1 exactly once');
        windows.sort((p, q) => p - q);
        t.diagnostic(`${switches} switches during ${N} preads; window (first to last flip write) min ${(windows[0]! / 1000).toFixed(1)} us, median ${(windows[windows.length >> 1]! / 1000).toFixed(1)} us, max ${(windows.at(-1)! / 1000).toFixed(1)} us`);
        return true;
      });
    });
    if (switched) return;
  }
});

test('a maskset naming events this kernel lacks is refused as a whole, or applied with the skipped ones listed', async () => {
  await armed('a', async (inst) => {
    const before = inst.enabledEvents().sort();
    await assert.rejects(masksetSwitch({ name: 'm' }), /maskset m names events this kernel lacks: nosuchsys:nosuchevent \(.*m\.maskset:\d+\): nothing was changed.*--skip-missing/);
    assert.deepEqual(inst.enabledEvents().sort(), before, 'nothing changed');
    assert.equal(readState()!.maskset, 'a');
    const out = (await masksetSwitch({ name: 'm', skipMissing: true })).text;
    assert.match(out, /skipped \(this kernel lacks them\): nosuchsys:nosuchevent/);
    assert.deepEqual(inst.enabledEvents(), [GETPPID]);
    const status = await statusReport();
    assert.match(status, /nosuchsys:nosuchevent\s+record\s+skipped: this kernel lacks it/);
  });
  await assert.rejects(startTrace({ maskset: 'm', instance: ARMED }), /lacks/);
  assert.equal(Instance.exists(ARMED), false, 'a refused start leaves no instance');
});

test('status --hooks lists the tracepoints live in any instance, and those only hooked by a trigger', async () => {
  await masksetCreate({ name: 'sw', description: 'sw', entries: [`${GETPPID} record`, `${KILL} switch to=b if="common_pid == 0"`] });
  await armed('sw', async () => {
    const hooks = await statusReport({ hooks: true });
    assert.match(hooks, /^live tracepoints: \d+ of \d+ are hooked in the kernel; the other \d+ are off and cost nothing$/m);
    assert.match(hooks, new RegExp(`^\\s+${GETPPID}\\s+.*\\b${ARMED}\\b`, 'm'));
    assert.match(hooks, new RegExp(`^\\s+${KILL}\\s+.*${ARMED} \\(trigger only\\)`, 'm'), 'armed by the switch trigger, not recorded');
    assert.doesNotMatch(hooks, new RegExp(`^\\s+${GETUID}\\s+.*${ARMED}`, 'm'));
    assert.match(hooks, /^\s+PROCESS_CONTEXTSWITCH\s+(live|off)\s+sched:sched_switch$/m);
  });
});

test('after an interrupted switch, status shows the kernel as it is; switch or reset settles it', async () => {
  await armed('a', async (inst) => {
    const env = await loadMasksetEnv();
    const b = compileMaskset(env.store.load('b'), env);
    // What a killed lkst leaves: the first change of a -> b written, the rest not.
    const flips = diffPlan(liveFor(inst, b), b).filter((s) => s.phase === 'flip');
    runSteps(inst, flips.slice(0, 1));
    const status = await statusReport();
    assert.match(status, /the kernel differs from the table/);
    assert.match(status, new RegExp(`${KILL} records but is not in the table|${GETUID} should record but is off`));
    await masksetSwitch({ name: 'b' });
    assert.deepEqual(inst.enabledEvents().sort(), [GETPPID, KILL].sort());
    assert.doesNotMatch(await statusReport(), /differs/);
    runSteps(inst, diffPlan(liveFor(inst, compileMaskset(stateMaskset({ ...readState()!, entries: env.store.load('a').entries }), env)), compileMaskset(env.store.load('a'), env)).filter((s) => s.phase === 'flip').slice(0, 1));
    assert.match(resetArmed(), /removed the armed trace/);
    assert.equal(Instance.exists(ARMED), false);
    assert.equal(readState(), undefined);
  });
});

test('stop turns every event off and keeps the buffer', async () => {
  await armed('a', async (inst) => {
    await withWorkers(inst, 1, async (w) => {
      await w.run('getppid', 'x', 5);
    });
    assert.match((await stopTrace()).text, /stopped; every event is off/);
    assert.deepEqual(inst.enabledEvents(), []);
    assert.equal(inst.tracingOn, false);
    assert.ok(count(readRecords(inst), GETPPID) >= 5, 'what was recorded is still there');
    assert.equal(readState()!.stopped, true);
    assert.match(await statusReport(), /maskset a, stopped/);
  });
});

test('start after stop arms the same instance again, and it records', async () => {
  await armed('a', async (inst) => {
    assert.match((await stopTrace()).text, /stopped; every event is off/);
    assert.equal(inst.tracingOn, false);
    assert.match((await startTrace({ maskset: 'a', instance: ARMED })).text, new RegExp(`^tracing armed in ${ARMED} with maskset a`));
    assert.equal(inst.tracingOn, true);
    assert.equal(readState()!.stopped, false);
    await withWorkers(inst, 1, async (w) => {
      await w.run('getppid', 'x', 5);
    });
    const recs = readRecords(inst);
    assert.ok(count(recs, GETPPID) >= 5, 'the re-armed trace records');
    assert.ok(recs.some((r) => r.text === 'lkst: maskset a'), 'the start marker is in the trace');
  });
});

test('after an in-kernel switch fired, status shows the kernel table and the fired triggers', async () => {
  // The worker exists first, so the switch can be limited to its pid (other tests call kill too).
  const w = new Worker(tracefs().path(`instances/${ARMED}/trace_marker`));
  try {
    await masksetCreate({ name: 'b2', description: 'b2', entries: [`${GETUID} record`] });
    await masksetCreate({ name: 'evsw', description: 'evsw', entries: [`${GETPPID} record`, `${KILL} switch to=b2 if="common_pid == ${w.pid} && sig == 0"`] });
    await armed('evsw', async (inst) => {
      await w.run('kill', 'k', 1);
      const recs = readRecords(inst);
      const note = recs.findIndex((r) => r.text === `lkst: maskset evsw: switch to b2 armed on syscalls:sys_enter_kill if common_pid == ${w.pid} && sig == 0`);
      assert.ok(note >= 0, 'the armed switch is described in the trace');
      assert.equal(count(between(recs, 'k'), 'ftrace:kernel_stack', w.pid), 1, 'and its firing is marked by a stack');
      const status = await statusReport();
      assert.match(status, new RegExp(`${GETPPID} should record but is off`));
      assert.match(status, new RegExp(`${GETUID} records but is not in the table`));
      assert.match(status, /\(fired: .*enable_event:syscalls:sys_enter_getuid/);
      await masksetSwitch({ name: 'b2' });
      assert.deepEqual(inst.enabledEvents(), [GETUID], 'the switch settles it: triggers gone, b2 recorded');
      assert.doesNotMatch(await statusReport(), /differs/);
    });
  } finally {
    w.stop();
  }
});

test('a recorder that announces its instance can be switched from elsewhere, and forgets it at the end', async () => {
  const env = await loadMasksetEnv();
  await withCleanInstance('announced', async (inst) => {
    const a = env.store.load('a');
    const { plan } = await applyMaskset(inst, a, { env });
    announceTrace(inst, a, plan);
    assert.match((await masksetSwitch({ name: 'b' })).text, /^switched a -> b/);
    assert.deepEqual(inst.enabledEvents().sort(), [GETPPID, KILL].sort());
    forgetTrace(inst);
    assert.equal(readState(), undefined);
  });
});

test('lkst killed while switching: status reads the kernel as it is, reset leaves nothing', async (t) => {
  await startTrace({ maskset: 'off', instance: ARMED });
  try {
    // A child that switches off <-> default over and over (each ~40 writes), killed at some point.
    const session = new URL('../../src/masksets/session.js', import.meta.url).href;
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      const { masksetSwitch } = await import(${JSON.stringify(session)});
      for (let i = 0; ; i++) { await masksetSwitch({ name: i % 2 ? 'off' : 'default' }); process.stdout.write('.'); }
    `], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let dots = 0;
    child.stdout.on('data', (d: Buffer) => (dots += d.length));
    // Kill it when the kernel shows a switch half done: some of default's events on, not all.
    const inst0 = Instance.open(ARMED);
    const full = compileMaskset((await loadMasksetEnv()).store.load('default'), await loadMasksetEnv()).tracepoints.size;
    let seen = 0;
    for (let i = 0; i < 200_000 && child.exitCode === null; i++) {
      seen = inst0.enabledEvents().length;
      if (seen > 0 && seen < full) {
        child.kill('SIGKILL');
        break;
      }
      if (i % 100 === 99) await new Promise((r) => setImmediate(r)); // let the child's output in
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const inst = Instance.open(ARMED);
    const live = readLiveState(inst);
    const recording = [...live.tracepoints.values()].filter((t) => t.recording).map((t) => t.id);
    const s = readState()!;
    const env = await loadMasksetEnv();
    const table = compileMaskset(stateMaskset(s), env);
    const status = await statusReport();
    // Whatever moment it died at, status tells exactly how the kernel differs from the table.
    for (const id of recording) if (!table.tracepoints.get(id)?.enabled) assert.match(status, new RegExp(`${id} records but is not in the table`));
    for (const tp of table.tracepoints.values()) if (tp.enabled && !recording.includes(tp.id)) assert.match(status, new RegExp(`${tp.id} should record but is off`));
    assert.equal(/differs/.test(status), planDrift(live, table).length > 0);
    t.diagnostic(`killed after ${dots} switches with ${seen} of ${full} events on; the kernel differed from the table in ${planDrift(live, table).length} tracepoints`);
  } finally {
    assert.match(resetArmed(ARMED), /removed the armed trace/);
  }
  assert.equal(Instance.exists(ARMED), false);
  assert.equal(readState(), undefined);
});
