/** switch buffer= and stop buffer= on the real kernel: a child exec'ing a known path fires them. */
import { writeTraceDat } from '../../src/file/writer.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createBuffer } from '../../src/buffers/buffer.js';
import { bufferInstanceName } from '../../src/buffers/name.js';
import { armBufferSwitch, disarmBufferSwitch } from '../../src/buffers/switch.js';
import { dumpBuffer } from '../../src/buffers/dump.js';
import { bufferStatus } from '../../src/buffers/status.js';
import { MasksetStore } from '../../src/masksets/store.js';
import { handlerSet, masksetSwitch, resetArmed, startTrace, stopTrace } from '../../src/masksets/session.js';
import { statusReport } from '../../src/masksets/status.js';
import { Instance } from '../../src/tracefs/instance.js';
import { openTrace } from '../../src/analysis/open.js';
import { stateAt } from '../../src/analysis/state.js';
import { tempConfig, readRecords, count } from '../masksets/kernel.js';
import { withBufferNames } from '../buffers/helpers.js';

const cfg = tempConfig();
after(() => cfg.done());

const EXEC = 'sched:sched_process_exec';
const FORK = 'sched:sched_process_fork';

/** A path to /bin/true whose name only this test execs: its exec is the event the handlers wait for. */
function fireCommand(tag: string): string {
  const path = join(cfg.root, `lkst-fire-${process.pid}-${tag}`);
  symlinkSync('/bin/true', path);
  return path;
}

function run(cmd: string): number {
  const r = spawnSync(cmd);
  assert.equal(r.status, 0);
  return r.pid!;
}

/** Arms `text` as maskset NAME in the buffer `armed`; the armed trace is reset afterwards, even on failure. */
async function withArmed<T>(name: string, text: string, armed: string, fn: () => Promise<T>): Promise<T> {
  new MasksetStore().save(name, text);
  try {
    await startTrace({ maskset: name, instance: bufferInstanceName(armed), bufferKb: 256 });
    return await fn();
  } finally {
    resetArmed(bufferInstanceName(armed));
  }
}

function report(file: string): string {
  return execFileSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

test('switch buffer=B: the exec of a known command moves the recording into B inside the kernel; the old buffer keeps its content', async () => {
  await withBufferNames(['sw-a', 'sw-b'], async (a, b) => {
    const fire = fireCommand('sw');
    const to = createBuffer(b!, { sizeKb: 256 });
    to.setEventEnabled('syscalls', 'sys_enter_getppid', true); // B's own table is replaced by the maskset's
    const text = [`${FORK} record`, 'sched:sched_process_exit record', `${EXEC} switch buffer=${b} record=true if='filename ~ "*${basename(fire)}"'`, ''].join('\n');
    await withArmed('swbuf', text, a!, async () => {
      const from = Instance.open(bufferInstanceName(a!));
      assert.ok(from.tracingOn);
      assert.equal(to.tracingOn, false, 'the switch target waits, stopped');
      assert.deepEqual(to.enabledEvents().sort(), [EXEC, FORK, 'sched:sched_process_exit'].sort(), "the target has the maskset's events, not its own");
      assert.match(to.triggers('sched', 'sched_process_exec').join('\n'), /^traceon:count=1 if filename ~/);
      assert.match(from.triggers('sched', 'sched_process_exec').join('\n'), /^traceoff:count=1 if filename ~/);
      let status = await statusReport();
      assert.match(status, new RegExp(`^  ${a} \\(the armed trace; records here\\): recording`, 'm'));
      assert.match(status, new RegExp(`^  ${b} \\(a switch handler moves the armed trace here when ${EXEC} fires\\): stopped`, 'm'));

      const before = run('/bin/true');
      const firing = run(fire);
      const afterSwitch = run('/bin/true');
      assert.equal(from.tracingOn, false, 'the old buffer stopped');
      assert.equal(to.tracingOn, true, 'B records');

      status = await statusReport();
      assert.match(status, new RegExp(`recording into ${bufferInstanceName(b!)} \\(a switch handler moved it there\\)`));
      assert.match(status, new RegExp(`^  ${a} \\(the armed trace\\): stopped`, 'm'));
      assert.match(status, new RegExp(`^  ${b} \\(the armed trace records here\\): recording`, 'm'));

      // The old buffer keeps what led up to the switch, the firing exec included, and nothing after.
      const old = readRecords(from, [EXEC]);
      assert.equal(count(old, EXEC, before), 1);
      assert.equal(count(old, EXEC, firing), 1);
      assert.equal(count(old, EXEC, afterSwitch), 0);
      assert.equal(old.filter((r) => r.pid === afterSwitch).length, 0);
      // B holds what came after, and every event in it has its format in a dump.
      const dir = mkdtempSync(join(tmpdir(), 'lkst-swbuf-'));
      try {
        const d = await dumpBuffer(to, join(dir, 'b.dat'), { writer: writeTraceDat, kallsyms: false });
        const rep = report(d.path);
        assert.doesNotMatch(rep, /UNKNOWN|\[FAILED/);
        const execs = [...rep.matchAll(/sched_process_exec:\s+filename=\S+ pid=(\d+)/g)].map((m) => Number(m[1]));
        assert.ok(execs.includes(afterSwitch), 'the exec after the switch is in B');
        assert.ok(!execs.includes(before) && !execs.includes(firing), 'nothing from before the switch is in B');
        assert.match(rep, new RegExp(`sched_process_exit:.*pid=${afterSwitch}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      assert.match((await stopTrace()).text, new RegExp(`${bufferInstanceName(b!)} stopped, its events off`));
      assert.equal(to.tracingOn, false);
      assert.deepEqual(to.triggers('sched', 'sched_process_exec'), []);
    });
  });
});

test('stop buffer=B: the exec of a known command freezes B; the armed trace records on', async () => {
  await withBufferNames(['st-a', 'st-b'], async (a, b) => {
    const fire = fireCommand('st');
    const frozen = createBuffer(b!, { sizeKb: 256, overwrite: true });
    frozen.setEventEnabled('sched', 'sched_process_exec', true);
    frozen.tracingOn = true;
    const text = [`${FORK} record`, `${EXEC} stop buffer=${b} if='filename ~ "*${basename(fire)}"'`, ''].join('\n');
    await withArmed('stbuf', text, a!, async () => {
      const armed = Instance.open(bufferInstanceName(a!));
      assert.deepEqual(frozen.enabledEvents(), [EXEC], "a stop target keeps its own events");
      assert.match(frozen.triggers('sched', 'sched_process_exec').join('\n'), /^traceoff:unlimited if filename ~/);
      assert.deepEqual(armed.triggers('sched', 'sched_process_exec'), [], 'nothing stops the armed trace itself');
      assert.match(await statusReport(), new RegExp(`^  ${b} \\(a stop handler freezes it when ${EXEC} fires\\): recording`, 'm'));
      const before = run('/bin/true');
      run(fire);
      const later = run('/bin/true');
      assert.equal(frozen.tracingOn, false, 'B frozen');
      assert.equal(armed.tracingOn, true, 'the armed trace goes on');
      const inB = readRecords(frozen);
      assert.equal(count(inB, EXEC, before), 1, 'B keeps what led up to the incident');
      assert.equal(count(inB, EXEC, later), 0, 'and nothing after it');
      const inArmed = readRecords(armed);
      assert.ok(count(inArmed, EXEC, later) === 1 && count(inArmed, FORK) >= 3, 'the armed trace recorded before and after');
      assert.match(resetArmed(bufferInstanceName(a!)), new RegExp(`${bufferInstanceName(b!)}: the table's triggers removed`));
      assert.deepEqual(frozen.triggers('sched', 'sched_process_exec'), [], "reset took the table's trigger back");
      assert.deepEqual(frozen.enabledEvents(), [EXEC], "B's own events stay");
    });
  });
});

test('switch buffer= to a buffer that does not exist is refused before anything changes; switch needs to= or buffer=', async () => {
  await withBufferNames(['nx-a', 'nx-missing'], async (a, missing) => {
    new MasksetStore().save('nxbuf', `${EXEC} switch buffer=${missing}\n`);
    await assert.rejects(startTrace({ maskset: 'nxbuf', instance: bufferInstanceName(a!) }), new RegExp(`nxbuf.maskset:1 ${EXEC} switch: no buffer named ${missing}: create it first`));
    assert.equal(Instance.exists(bufferInstanceName(a!)), false, 'the armed instance was not left behind');
    new MasksetStore().save('nxboth', `${EXEC} switch\n`);
    await assert.rejects(startTrace({ maskset: 'nxboth', instance: bufferInstanceName(a!) }), /nxboth.maskset:1: switch: give to=MASKSET or buffer=NAME/);
    new MasksetStore().save('nxbad', `${EXEC} stop buffer=a/b\n`);
    await assert.rejects(startTrace({ maskset: 'nxbad', instance: bufferInstanceName(a!) }), /nxbad.maskset:1: buffer=a\/b: not a buffer name/);
  });
});

test('maskset switch away from a switch buffer= table takes both triggers back; switching back arms them again, the target stopped', async () => {
  await withBufferNames(['ms-a', 'ms-b'], async (a, b) => {
    const to = createBuffer(b!, { sizeKb: 64 });
    new MasksetStore().save('plain', `${FORK} record\n`);
    await withArmed('withbuf', `${FORK} record\n${EXEC} switch buffer=${b} if='filename ~ "*nothing-execs-this"'\n`, a!, async () => {
      const from = Instance.open(bufferInstanceName(a!));
      const armedTriggers = (): string[] => [...from.triggers('sched', 'sched_process_exec'), ...to.triggers('sched', 'sched_process_exec')];
      assert.equal(armedTriggers().length, 2);
      await masksetSwitch({ name: 'plain' });
      assert.deepEqual(armedTriggers(), [], 'the pair is gone from both buffers');
      to.tracingOn = true; // as if something else used B meanwhile
      await masksetSwitch({ name: 'withbuf' });
      assert.equal(armedTriggers().length, 2, 'armed again');
      assert.equal(to.tracingOn, false, 'the target is stopped while the switch waits');
      assert.deepEqual(bufferStatus(to).events, [FORK], "the target records the maskset's recorded events only (exec is hooked by the trigger)");
      // One entry changed on the running trace: the target follows the table.
      await handlerSet({ event: 'sched:sched_process_exit', handler: 'record' });
      assert.deepEqual(bufferStatus(to).events.sort(), [FORK, 'sched:sched_process_exit'].sort());
      assert.equal(armedTriggers().length, 2, 'an unrelated change leaves the pair alone');
    });
    assert.deepEqual(to.triggers('sched', 'sched_process_exec'), [], 'reset took the traceon back');
  });
});

test('buffer switch --on: after it fired in the kernel, status says the armed trace records in the new buffer', async () => {
  await withBufferNames(['on-a', 'on-b'], async (a, b) => {
    const fire = fireCommand('on');
    const to = createBuffer(b!, { sizeKb: 256 });
    await withArmed('swon', `${FORK} record\n${EXEC} record\n`, a!, async () => {
      const from = Instance.open(bufferInstanceName(a!));
      try {
        armBufferSwitch(from, to, { system: 'sched', event: 'sched_process_exec' }, { condition: `filename ~ "*${basename(fire)}"` });
        let status = await statusReport();
        assert.match(status, new RegExp(`^armed trace in ${from.name}: .*, recording,`, 'm'));
        assert.match(status, new RegExp(`^  ${b} \\(an in-kernel switch moves the armed trace here when ${EXEC} fires\\): stopped`, 'm'));
        run('/bin/true');
        assert.equal(to.tracingOn, false, 'another exec does not fire it');
        run(fire);
        assert.equal(from.tracingOn, false);
        assert.equal(to.tracingOn, true);
        status = await statusReport();
        assert.match(status, new RegExp(`recording into ${to.name} \\(the in-kernel switch on ${EXEC} moved it there\\)`));
        assert.match(status, new RegExp(`^  ${b} \\(the armed trace records here; the in-kernel switch on ${EXEC} moved the armed trace here\\): recording`, 'm'));
        assert.match(status, new RegExp(`^  ${a} \\(the armed trace\\): stopped`, 'm'));
      } finally {
        disarmBufferSwitch(from, to, { system: 'sched', event: 'sched_process_exec' });
        to.tracingOn = false;
        for (const e of to.enabledEvents()) to.setEventEnabled(...(e.split(':') as [string, string]), false);
      }
    });
  });
});

test('a dump of the armed trace names its maskset in the file: state shows it where the start marker is no longer in the buffer', async () => {
  await withBufferNames(['meta-a'], async (a) => {
    await withArmed('metams', `${FORK} record\n${EXEC} record\n`, a!, async () => {
      const inst = Instance.open(bufferInstanceName(a!));
      const dir = mkdtempSync(join(tmpdir(), 'lkst-meta-'));
      try {
        run('/bin/true');
        // The first dump consumes what the buffer held, the start marker with it.
        const first = await dumpBuffer(inst, join(dir, 'first.dat'), { writer: writeTraceDat, kallsyms: false });
        run('/bin/true');
        const second = await dumpBuffer(inst, join(dir, 'second.dat'), { writer: writeTraceDat, kallsyms: false });
        const trace = openTrace(second.path);
        try {
          assert.equal(trace.trace.meta.maskset, 'metams', 'the file names the maskset');
          const st = stateAt(trace, Infinity);
          assert.equal(st.maskset, 'metams');
          assert.equal(st.masksetFrom, 'metadata', 'no marker in this file: the metadata says it');
        } finally {
          trace.close();
        }
        const t1 = openTrace(first.path);
        try {
          assert.equal(stateAt(t1, Infinity).masksetFrom, 'markers', 'the first file has the start marker');
        } finally {
          t1.close();
        }
        assert.doesNotMatch(report(second.path), /UNKNOWN|\[FAILED/, 'trace-cmd reads the file with lkst\'s option in it');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
