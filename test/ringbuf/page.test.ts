import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { withInstance } from '../helpers/instance.js';
import { enableEvents, drainRawPipe } from '../helpers/capture.js';
import { forEachRecord, readPageHeader } from '../../src/ringbuf/page.js';
import { recordType } from '../../src/ringbuf/fields.js';
import { parseFormat, parseHeaderPage } from '../../src/events/format.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { usecStamp } from '../unit/fixtures.js';

test("decoded pages agree with the kernel's own text rendering, record for record, across time extends", async () => {
  await withInstance('pages', (inst) => {
    enableEvents(inst, ['sched:sched_switch', 'sched:sched_waking', 'raw_syscalls:*', 'timer:*']);
    inst.tracingOn = true;
    // Sleeps longer than 2^27 ns force time-extend records between events.
    spawnSync('sh', ['-c', 'ls /proc >/dev/null; sleep 0.3; cat /proc/self/stat >/dev/null; sleep 0.2; true']);
    inst.tracingOn = false;
    const pageSize = (inst.subbufSizeKb ?? 4) * 1024;
    for (const cpu of inst.cpus()) {
      // The text file does not consume; read it first, then consume the raw pages.
      const text = inst.read(`per_cpu/cpu${cpu}/trace`);
      const kernelStamps = text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => /\s(\d+\.\d{6}):/.exec(l)?.[1])
        .filter((s): s is string => s !== undefined);
      const raw = drainRawPipe(inst.rawPipePath(cpu), pageSize);
      const ours: string[] = [];
      for (let off = 0; off < raw.length; off += pageSize) {
        forEachRecord(raw, off, pageSize, (ts) => ours.push(usecStamp(ts)));
      }
      assert.ok(kernelStamps.length > 0 || cpu > 0, 'the workload produced events');
      assert.deepEqual(ours, kernelStamps, `CPU ${cpu}: same records at the same times`);
    }
  });
});

test('each record carries the id of an event that was enabled', async () => {
  await withInstance('ids', (inst) => {
    const enabled = enableEvents(inst, ['sched:sched_switch', 'raw_syscalls:sys_enter']);
    const ids = new Set(enabled.map((e) => parseFormat(tracefs().read(`events/${e.system}/${e.event}/format`), e.system).id));
    inst.tracingOn = true;
    spawnSync('sh', ['-c', 'ls / >/dev/null; sleep 0.05']);
    inst.tracingOn = false;
    const pageSize = (inst.subbufSizeKb ?? 4) * 1024;
    let n = 0;
    for (const cpu of inst.cpus()) {
      const raw = drainRawPipe(inst.rawPipePath(cpu), pageSize);
      for (let off = 0; off < raw.length; off += pageSize) {
        const head = readPageHeader(raw, off);
        assert.ok(head.dataLen <= pageSize - 16);
        forEachRecord(raw, off, pageSize, (_ts, dOff) => {
          n++;
          assert.ok(ids.has(recordType(raw, dOff)), `unexpected event id ${recordType(raw, dOff)}`);
        });
      }
    }
    assert.ok(n > 0);
  });
});

test('header_page of this kernel gives the page layout the decoder assumes', () => {
  const hp = parseHeaderPage(tracefs().read('events/header_page'));
  assert.equal(hp.timestampOffset, 0);
  assert.equal(hp.commitOffset, 8);
  assert.equal(hp.dataOffset, 16);
});
