import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { openTraceDat } from '../../src/file/reader.js';
import { captureWithTraceCmd } from './tracecmd-capture.js';
import { reportText } from './report-output.js';

test('task names come from saved_cmdlines as trace-cmd reads them (blanks before a comm skipped)', async () => {
  // A task whose comm starts with a tab: saved_cmdlines shows "PID \tlkst-cmN"; trace-cmd names it "lkst-cmN".
  const tag = String(process.pid % 1000);
  let pid = 0;
  const cap = captureWithTraceCmd('cmdlines', 512, {
    events: ['sched:sched_switch'],
    workload: (_dir, inst) => {
      const r = spawnSync('sh', ['-c', `printf '\\tlkst-cm${tag}' > /proc/self/comm; sleep 0.01; echo lkst-cmdlines-mark > ${inst.path('trace_marker')}; sleep 0.01; echo $$`], { encoding: 'utf8' });
      pid = Number(r.stdout.trim());
    },
  });
  try {
    const file = openTraceDat(cap.path);
    try {
      assert.match(file.meta.cmdlines, new RegExp(`^${pid} \tlkst-cm${tag}$`, 'm'), 'saved_cmdlines kept the tab');
      assert.equal(file.cmdlines.get(pid), `lkst-cm${tag}`, 'analyses see the name trace-cmd shows');
    } finally {
      file.close();
    }
    const { text } = await reportText(cap.dir, cap.path);
    assert.equal(text, cap.report);
    const mark = text.split('\n').find((l) => l.includes('lkst-cmdlines-mark'));
    assert.ok(mark, 'the marker is in the report');
    assert.match(mark, new RegExp(`: +lkst-cm${tag}-${pid} `), 'the comm without its tab');
  } finally {
    cap.cleanup();
  }
});
