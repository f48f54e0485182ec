import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { captureWithTraceCmd, type TraceCmdCapture } from './tracecmd-capture.js';
import { eventOfLine, reportText } from './report-output.js';

/**
 * Events whose text may differ from trace-cmd's (field-equal only). Kept explicit and empty: every
 * event recorded here must print exactly as `trace-cmd report` prints it.
 */
const TEXT_MAY_DIFFER = new Set<string>();

let cap: TraceCmdCapture;
before(() => {
  cap = captureWithTraceCmd('agree');
});
after(() => cap?.cleanup());

test('lkst report prints a trace-cmd file line for line as trace-cmd report does', async () => {
  const { text, summary } = await reportText(cap.dir, cap.path);
  const ours = text.split('\n');
  const theirs = cap.report.split('\n');
  const names = new Set<string>();
  const mismatches: string[] = [];
  for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
    const a = ours[i];
    const b = theirs[i];
    if (a === b) {
      const n = b !== undefined ? eventOfLine(b) : undefined;
      if (n) names.add(n);
      continue;
    }
    const n = b !== undefined ? eventOfLine(b) : undefined;
    if (n && TEXT_MAY_DIFFER.has(n) && a !== undefined && eventOfLine(a) === n) continue;
    if (mismatches.length < 10) mismatches.push(`line ${i + 1}:\n  trace-cmd: ${b}\n  lkst:      ${a}`);
    else break;
  }
  assert.deepEqual(mismatches, [], mismatches.join('\n'));
  assert.equal(ours.length, theirs.length);
  // The comparison covered the event families.
  for (const must of ['sched_switch', 'sched_waking', 'irq_handler_entry', 'softirq_entry', 'hrtimer_start', 'hrtimer_expire_entry', 'timer_start', 'sys_enter', 'sys_exit', 'kmalloc', 'kfree', 'mm_page_alloc']) {
    assert.ok(names.has(must), `no ${must} event was compared (saw ${names.size} kinds)`);
  }
  assert.ok(names.size >= 40, `only ${names.size} kinds of events compared`);
  assert.ok(summary.printed > 1000 && summary.printed === summary.records, `printed ${summary.printed} of ${summary.records}`);
  assert.equal(summary.corruptPages, 0);
});

test('lost events print as trace-cmd prints them', async () => {
  const small = captureWithTraceCmd('lost', 16);
  try {
    const { text, summary } = await reportText(small.dir, small.path);
    const dropped = (t: string): string[] => t.split('\n').filter((l) => /CPU:\d+ \[(\d+ )?EVENTS DROPPED\]/.test(l));
    const theirs = dropped(small.report);
    assert.ok(theirs.length > 0, 'a 16 KB buffer should have lost events under this workload');
    assert.deepEqual(dropped(text), theirs);
    assert.ok(summary.lost + summary.lostUncounted > 0);
    assert.equal(text, small.report);
  } finally {
    small.cleanup();
  }
});
