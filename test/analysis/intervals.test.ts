// Interval events (an entry and its exit): the built-in masksets record both, and an analysis of a
// trace with the entry alone says which exit to add, instead of showing nothing or wrong times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTERVAL_EXITS, exitTracepoints, lkstEvent } from '../../src/events/catalog.js';
import { availableEvents } from '../../src/events/live.js';
import { compileMaskset } from '../../src/masksets/compile.js';
import { loadMasksetEnv } from '../../src/masksets/env.js';
import { builtinMaskset } from '../../src/masksets/builtin.js';
import { openTrace } from '../../src/analysis/open.js';
import { analyzeLatency } from '../../src/analysis/latency.js';
import { stateAt } from '../../src/analysis/state.js';
import { traceStats } from '../../src/analysis/stats.js';
import { recordTrace } from './record-trace.js';

test('the built-in masksets record the exit of every interval entry they record', async () => {
  const env = await loadMasksetEnv();
  const here = new Set(availableEvents());
  for (const name of ['default', 'all', 'interrupt', 'timer']) {
    const plan = compileMaskset(builtinMaskset(name)!, env);
    const on = new Set([...plan.tracepoints.values()].filter((t) => t.enabled).map((t) => t.id));
    const entries = [...on].filter((id) => INTERVAL_EXITS[id]);
    assert.ok(entries.length > 0, `${name} records interval entries`);
    for (const id of entries) {
      const exit = INTERVAL_EXITS[id]!;
      if (here.has(exit)) assert.ok(on.has(exit), `${name}: ${id} is recorded with ${exit}`);
    }
  }
  // An entry narrowed to one softirq closes with that softirq's exit only.
  assert.deepEqual(exitTracepoints(lkstEvent('INT_TASKLETHI_ENTRY')!), [{ id: 'irq:softirq_exit', filter: 'vec == 0' }]);
});

test('a trace with interrupt entries but no exits: latency, stats and state name the exit to add and its -e', async () => {
  const events = ['sched:sched_switch', 'sched:sched_waking', 'irq:irq_handler_entry', 'irq:softirq_entry', 'irq:softirq_exit', 'raw_syscalls:sys_enter'];
  const rec = await recordTrace(['sh', '-c', 'for i in 1 2 3 4 5; do cat /proc/interrupts > /dev/null; sleep 0.02; done'], events);
  const trace = openTrace(rec.path);
  try {
    const lat = analyzeLatency(trace);
    const want = 'irq:irq_handler_entry is traced without irq:irq_handler_exit: its times are unknown; record it too with -e irq:irq_handler_exit';
    assert.deepEqual(lat.missing.filter((m) => m.startsWith('irq')), [want]);
    assert.ok(!lat.irqs.some((i) => i.name.startsWith('irq ')), 'no made-up hard-IRQ times');
    assert.ok(lat.missing.includes('raw_syscalls:sys_enter is traced without raw_syscalls:sys_exit: its times are unknown; record it too with -e raw_syscalls:sys_exit'), lat.missing.join('; '));
    assert.deepEqual(lat.syscalls, [], 'no syscall times without their exits');
    assert.ok(lat.irqs.some((i) => i.kind === 'softirq'), 'softirqs, whose exit is traced, are timed');
    assert.deepEqual(traceStats(trace).missingExits, [want]);
    const st = stateAt(trace, Infinity);
    assert.deepEqual(st.missingExits, [want]);
    assert.ok(st.cpus.every((c) => c.irqs.every((i) => i.name.startsWith('softirq'))), 'no hard IRQ held open without its exit');
  } finally {
    trace.close();
    rec.cleanup();
  }
});
