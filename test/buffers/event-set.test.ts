import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBuffer } from '../../src/buffers/buffer.js';
import { prepareSwitchTarget } from '../../src/buffers/switch.js';
import { readEventSet, triggerInput } from '../../src/buffers/event-set.js';
import { withBufferNames } from './helpers.js';

test('trigger lines as the kernel shows them become lines it takes; spent counts are dropped', () => {
  assert.equal(triggerInput('traceoff:unlimited'), 'traceoff');
  assert.equal(triggerInput('stacktrace:count=3 if prev_pid == 1'), 'stacktrace:3 if prev_pid == 1');
  assert.equal(triggerInput('enable_event:sched:sched_wakeup:count=1'), 'enable_event:sched:sched_wakeup:1');
  assert.equal(triggerInput('enable_event:sched:sched_wakeup:count=0'), undefined);
});

test("a switch target gets the source's events, filters and triggers (the handlers come along), and keeps its own pids", async () => {
  await withBufferNames(['es-a', 'es-b'], async (a, b) => {
    const from = createBuffer(a);
    const to = createBuffer(b, { pids: [1] });
    from.setFilter('sched', 'sched_switch', 'prev_pid != 0');
    from.setEventEnabled('sched', 'sched_switch', true);
    from.addTrigger('sched', 'sched_switch', 'stacktrace:5 if next_pid == 1');
    // A trigger on an event that is not recorded (soft mode): a maskset's in-kernel switch.
    from.setFilter('sched', 'sched_wakeup', 'pid == 1');
    from.addTrigger('sched', 'sched_process_exec', 'enable_event:sched:sched_wakeup:1 if filename == "/nonexistent/lkst"');
    // Left over in the target from an earlier use: must go.
    to.setEventEnabled('irq', 'irq_handler_entry', true);
    to.addTrigger('irq', 'irq_handler_entry', 'traceoff');
    from.write('set_event_pid', '2');
    assert.equal(prepareSwitchTarget(from, to), 1);
    const norm = (set: ReturnType<typeof readEventSet>) => set.map((s) => `${s.system}:${s.event} rec=${s.recording} filter=${s.filter} triggers=${s.triggers.join('|')}`).sort();
    assert.deepEqual(norm(readEventSet(to)), norm(readEventSet(from)));
    assert.equal(to.filter('sched', 'sched_wakeup'), 'pid == 1', 'the filter set ahead for the in-kernel enable');
    assert.deepEqual(to.triggers('irq', 'irq_handler_entry'), []);
    assert.equal(to.tracingOn, false);
    assert.deepEqual(to.eventPids(), [1], 'a buffer with its own processes keeps them');
  });
});
