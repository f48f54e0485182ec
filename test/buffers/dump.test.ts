import { test } from 'node:test';
import { writeTraceDat } from '../../src/file/writer.js';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBuffer } from '../../src/buffers/buffer.js';
import { switchBuffer } from '../../src/buffers/switch.js';
import { dumpBuffer } from '../../src/buffers/dump.js';
import { withBufferNames } from './helpers.js';

function report(file: string): string {
  return execFileSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

test('dump of a switched-to buffer while it records: every event in it has its format, even one turned off since', async () => {
  await withBufferNames(['d-old', 'd-new'], async (oldName, newName) => {
    const dir = mkdtempSync(join(tmpdir(), 'lkst-dump-'));
    try {
      const a = createBuffer(oldName, { sizeKb: 512 });
      const b = createBuffer(newName, { sizeKb: 512 });
      a.setEventEnabled('sched', 'sched_process_fork', true);
      a.tracingOn = true;
      spawnSync('/bin/true');
      switchBuffer(a, b);
      // What the new buffer records changes after the switch (as a maskset switch would do).
      b.setEventEnabled('sched', 'sched_process_exec', true);
      spawnSync('/bin/true');
      b.setEventEnabled('sched', 'sched_process_exec', false);
      spawnSync('/bin/true');
      const r = await dumpBuffer(b, join(dir, 'new.dat'), { writer: writeTraceDat, kallsyms: false });
      assert.equal(r.live, true);
      assert.equal(b.tracingOn, true, 'the dump did not stop the buffer');
      const text = report(r.path);
      const times = (t: string): number[] => [...t.matchAll(/\]\s+(\d+\.\d+):/g)].map((m) => Number(m[1]));
      assert.doesNotMatch(text, /UNKNOWN|\[FAILED/);
      assert.ok((text.match(/sched_process_exec:/g) ?? []).length >= 1, 'the exec event, off by now, is decoded');
      assert.ok((text.match(/sched_process_fork:/g) ?? []).length >= 2, 'the forks after the switch are in the new buffer');
      // The old buffer, stopped by the switch, still holds the fork from before it.
      const old = report((await dumpBuffer(a, join(dir, 'old.dat'), { writer: writeTraceDat, kallsyms: false })).path);
      assert.ok((old.match(/sched_process_fork:/g) ?? []).length >= 1);
      assert.doesNotMatch(old, /sched_process_exec:/);
      // A second dump holds only what came after the first (the read consumes).
      spawnSync('/bin/true');
      const again = await dumpBuffer(b, join(dir, 'again.dat'), { writer: writeTraceDat, kallsyms: false });
      assert.ok(again.events >= 1);
      const againText = report(again.path);
      assert.doesNotMatch(againText, /sched_process_exec:/);
      assert.ok(Math.min(...times(againText)) >= Math.max(...times(text)), 'nothing of the first dump comes again');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
