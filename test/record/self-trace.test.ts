/** lkst leaves itself out of a default recording, but not the interrupts that happen on its time. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from '../../src/record/recorder.js';
import { pidShare } from '../../src/record/pid-share.js';
import { planRecording } from '../../src/cli/record-plan.js';
import { tempConfig } from '../masksets/kernel.js';
import { masksetSwitch } from '../../src/masksets/session.js';
import { readState } from '../../src/masksets/state.js';
import { Instance } from '../../src/tracefs/instance.js';
import { leaveOutFilter } from '../../src/record/self-filter.js';

const cfg = tempConfig();
after(() => cfg.done());

test("a default recording of a small workload: lkst's own task-context events under 0.1%, interrupts on its time kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-self-'));
  try {
    const plan = await planRecording({}, () => {});
    const command = ['sh', '-c', 'for i in $(seq 1 200); do /bin/true; done; sleep 0.3'];
    const r = await record({
      ...plan.options,
      workDir: dir,
      command,
      // Keep the recorder's main thread on a CPU for a while: the timer ticks and softirqs that interrupt it carry its pid.
      onRecording: () => {
        for (const end = Date.now() + 300; Date.now() < end; );
      },
    });
    plan.finish();
    try {
      assert.equal(r.commandExitCode, 0);
      assert.ok(r.leftOutSelf && r.leaveOutRefused.length === 0, `the filter went on every event (refused on ${r.leaveOutRefused.join(', ')})`);
      assert.ok(r.ownTasks.includes(process.pid) && r.ownTasks.length > 1, 'Node main thread and the others (and the pump)');
      const s = pidShare(r.cpus.map((c) => c.source), r.meta.pageSize, r.ownTasks);
      assert.equal(s.events, r.captures.reduce((a, c) => a + c.events, 0), 'every captured event was counted');
      assert.ok(s.events > 10_000, `a busy recording (${s.events} events)`);
      assert.ok(s.inTask / s.events < 0.001, `lkst's own: ${s.inTask} of ${s.events}`);
      assert.ok(s.inInterrupt > 0, 'interrupts and softirqs that hit lkst are still recorded');
    } finally {
      r.discard();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst maskset switch on a running recorder keeps lkst left out of the events it turns on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-self-'));
  const go = join(dir, 'go');
  try {
    const plan = await planRecording({ maskset: ['process'] }, () => {});
    let switched: Promise<void> | undefined;
    let filters: string[] = [];
    const r = await record({
      ...plan.options,
      workDir: dir,
      // The workload waits until the switch is done.
      command: ['sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; for i in $(seq 1 100); do /bin/true; done`],
      onRecording: () => {
        switched = masksetSwitch({ name: 'syscall' }).then(() => {
          const inst = Instance.open(readState()!.instance);
          filters = inst.enabledTracepoints().map((e) => inst.filter(e.system, e.event));
          writeFileSync(go, '');
        });
        switched.catch(() => writeFileSync(go, ''));
      },
    });
    plan.finish();
    await switched;
    try {
      assert.ok(filters.length >= 2, `the syscall events are on (${filters.length})`);
      for (const f of filters) assert.ok(f.includes(leaveOutFilter(r.ownTasks)), `filter keeps lkst out: ${f}`);
      const s = pidShare(r.cpus.map((c) => c.source), r.meta.pageSize, r.ownTasks);
      assert.ok(s.events > 1000 && s.inTask / s.events < 0.001, `lkst's own: ${s.inTask} of ${s.events}`);
    } finally {
      r.discard();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
