// The tests' trace-cmd leaves the top level as it found it (another tracer may be using it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Instance } from '../../src/tracefs/instance.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { enableEvents, sampleWorkload } from '../helpers/capture.js';
import { tracecmd } from '../helpers/tracecmd-guard.js';

/**
 * A top-level filter on an event nobody traces, set for the test's length (unguarded, trace-cmd
 * extract clears every top-level filter, so the comparison below would catch it).
 */
const PROBE = 'events/alarmtimer/alarmtimer_fired/filter';

/** What `trace-cmd extract` writes at the top level when nothing stops it. */
function topLevel(): Record<string, string> {
  const t = tracefs();
  const read = (p: string) => (t.has(p) ? t.read(p) : '(absent)');
  return {
    tracing_on: read('tracing_on'),
    current_tracer: read('current_tracer'),
    'events/enable': read('events/enable'),
    set_event: read('set_event'),
    'events/sched/filter': read('events/sched/filter'),
    'events/sched/sched_switch/filter': read('events/sched/sched_switch/filter'),
    [PROBE]: read(PROBE),
    kptr_restrict: readFileSync('/proc/sys/kernel/kptr_restrict', 'utf8'),
  };
}

test("trace-cmd extract under the tests' guard reads its instance and changes nothing at the top level", () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-guard-'));
  const inst = Instance.create(`lkst-test-guard-${process.pid}`);
  try {
    enableEvents(inst, ['sched:sched_switch', 'sched:sched_waking']);
    inst.tracingOn = true;
    sampleWorkload(inst);
    inst.tracingOn = false;
    const probe = tracefs().has(PROBE);
    if (probe) tracefs().write(PROBE, 'common_pid == 999999');
    const before = topLevel();
    const out = join(dir, 'g.dat');
    const r = tracecmd(['extract', '-B', inst.name, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(topLevel(), before, 'the top level is as it was');
    assert.match(tracecmd(['report', out]).stdout, / sched_switch: /, 'the instance was read');
  } finally {
    if (tracefs().has(PROBE)) tracefs().write(PROBE, '0');
    if (Instance.exists(inst.name)) inst.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
