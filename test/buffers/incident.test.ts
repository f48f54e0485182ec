import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createBuffer } from '../../src/buffers/buffer.js';
import { bufferStopOps, bufferSwitchOps, installTriggerOps, prepareSwitchTarget } from '../../src/buffers/switch.js';
import type { Instance } from '../../src/tracefs/instance.js';
import { drainRawPipe } from '../helpers/capture.js';
import { PREAD64, seqEvents, sleep, startSeqWorkload, stopChild, withBufferNames } from './helpers.js';

function seqs(inst: Instance): number[] {
  return seqEvents(
    inst.cpus().map((c) => drainRawPipe(inst.rawPipePath(c), 4096)),
    4096,
  ).map((e) => e.seq);
}

/** A process renames itself: the incident the triggers wait for. */
function incident(name: string): void {
  spawnSync('sh', ['-c', `printf ${name} > /proc/$$/comm`]);
}

test('in-kernel switch on an incident event: traceoff in the old buffer and traceon in the new one, on one tracepoint hit', async () => {
  await withBufferNames(['inc-old', 'inc-new'], async (a, b) => {
    const child = await startSeqWorkload({ spin: 200 });
    try {
      const from = createBuffer(a, { sizeKb: 2048, overwrite: true });
      const to = createBuffer(b, { sizeKb: 2048, overwrite: false });
      from.setFilter('raw_syscalls', 'sys_enter', `common_pid == ${child.pid} && id == ${PREAD64}`);
      from.setEventEnabled('raw_syscalls', 'sys_enter', true);
      from.tracingOn = true;
      assert.equal(prepareSwitchTarget(from, to), 1);
      assert.equal(to.tracingOn, false);
      const ops = bufferSwitchOps(a, b, { condition: 'newcomm == "lkst-incident"', count: 1 });
      const remove = installTriggerOps(ops, 'task', 'task_rename');
      try {
        incident('not-it');
        await sleep(50);
        assert.ok(from.tracingOn && !to.tracingOn, 'a rename that does not match the condition switches nothing');
        incident('lkst-incident');
        await sleep(50);
        assert.ok(!from.tracingOn && to.tracingOn, 'the incident switched the buffers, with no lkst process involved');
      } finally {
        remove();
      }
      assert.deepEqual(from.triggers('task', 'task_rename'), []);
      to.tracingOn = false;
      const old = seqs(from);
      const cur = seqs(to);
      assert.ok(old.length > 0 && cur.length > 0);
      const inOld = new Set(old);
      const dup = cur.filter((s) => inOld.has(s)).length;
      assert.ok(dup <= availableParallelism() - 1, `${dup} events in both buffers`);
      assert.ok(cur[0]! > old[old.length - 1]! - 1 - dup, 'the new buffer goes on where the old one stopped');
    } finally {
      await stopChild(child);
    }
  });
});

test('stop aimed at a buffer: an incident freezes it (flight recorder), other buffers go on', async () => {
  await withBufferNames(['frz', 'other'], async (a, b) => {
    const keep = createBuffer(a, { sizeKb: 256, overwrite: true });
    const other = createBuffer(b, { sizeKb: 256 });
    for (const i of [keep, other]) {
      i.setEventEnabled('sched', 'sched_process_fork', true);
      i.tracingOn = true;
    }
    const remove = installTriggerOps(bufferStopOps(a, { condition: 'newcomm == "lkst-crash"' }), 'task', 'task_rename');
    try {
      incident('lkst-crash');
      await sleep(50);
      assert.equal(keep.tracingOn, false);
      assert.equal(other.tracingOn, true);
    } finally {
      remove();
    }
  });
});

test('a trigger acts only on its own instance: traceon in one buffer does not start another', async () => {
  await withBufferNames(['own-a', 'own-b'], async (a, b) => {
    const ia = createBuffer(a);
    const ib = createBuffer(b);
    ia.tracingOn = false;
    ib.tracingOn = false;
    const remove = installTriggerOps([{ kind: 'trigger', instance: ia.name, command: 'traceon', condition: 'newcomm == "lkst-own"' }], 'task', 'task_rename');
    try {
      incident('lkst-own');
      await sleep(50);
      assert.equal(ia.tracingOn, true, 'the trigger started its own buffer');
      assert.equal(ib.tracingOn, false, 'and not the other one');
    } finally {
      remove();
    }
  });
});
