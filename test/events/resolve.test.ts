import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableEvents } from '../../src/events/live.js';
import { expandName, resolveEventSet, resolveEvents } from '../../src/events/resolve.js';
import { LkstError } from '../../src/tracefs/errors.js';

const live = availableEvents();
const ids = (names: string[], available: ReadonlySet<string> = live) => resolveEvents(names, available).map((t) => t.id);

/** Throws LkstError whose message mentions every expected string. */
function assertLkstError(fn: () => unknown, ...expected: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LkstError, String(err));
    for (const s of expected) assert.ok(err.message.includes(s), `"${err.message}" lacks "${s}"`);
    return true;
  });
}

test('LKST names resolve case-insensitively and say which LKST event each tracepoint came from', () => {
  const [sw] = resolveEvents(['process_contextSwitch'], live);
  assert.deepEqual(sw, { system: 'sched', event: 'sched_switch', id: 'sched:sched_switch', lkst: ['PROCESS_CONTEXTSWITCH'], requestedAs: ['process_contextSwitch'] });
  assert.deepEqual(ids(['PROCESS_WAKEUP']), ['sched:sched_wakeup', 'sched:sched_wakeup_new']);
});

test('system:event, system:* and *:event name tracepoints directly', () => {
  const [sw] = resolveEvents(['sched:sched_switch'], live);
  assert.deepEqual(sw?.lkst, []);
  const sched = ids(['sched:*']);
  assert.ok(sched.length > 5 && sched.every((id) => id.startsWith('sched:')) && sched.includes('sched:sched_switch'));
  assert.deepEqual(ids(['*:kfree']), ['kmem:kfree']);
  assert.deepEqual(ids(['*:sched_wakeup*']), ['sched:sched_wakeup', 'sched:sched_wakeup_new']);
});

test('categories resolve by bare name or category:NAME', () => {
  assert.deepEqual(ids(['timer']), ['timer:timer_expire_entry', 'timer:timer_start', 'timer:timer_cancel']);
  assert.deepEqual(ids(['category:TIMER']), ids(['timer']));
  const memory = resolveEvents(['memory'], live);
  assert.ok(memory.some((t) => t.id === 'kmem:kmalloc' && t.lkst.includes('MEM_MALLOC')));
});

test('default, all, LKST globs and unique bare event names', () => {
  const def = ids(['default']);
  assert.deepEqual(ids(['DEF']), def);
  assert.ok(!def.some((id) => id.startsWith('lock:')));
  assert.ok(ids(['all']).includes('lock:contention_begin'));
  assert.deepEqual(ids(['mem_cache_*']), ['kmem:kmem_cache_alloc', 'kmem:kmem_cache_free']);
  assert.deepEqual(ids(['sched_switch']), ['sched:sched_switch']);
});

test('a tracepoint shared by LKST events appears once, naming all of them', () => {
  const tracepoints = resolveEvents(['TIMER_ADD', 'TIMER_MOD', 'timer:timer_start'], live);
  assert.equal(tracepoints.length, 1);
  assert.deepEqual(tracepoints[0]?.lkst, ['TIMER_ADD', 'TIMER_MOD']);
  assert.deepEqual(tracepoints[0]?.requestedAs, ['TIMER_ADD', 'TIMER_MOD', 'timer:timer_start']);
  assert.equal(tracepoints[0]?.filter, undefined);
});

test('filters of LKST mappings are kept, ORed, and dropped when any request wants every event', () => {
  const older = new Set(['irq:softirq_entry', 'irq:irq_handler_entry']);
  assert.equal(resolveEvents(['INT_TASKLET_ENTRY'], older)[0]?.filter, 'vec == 6');
  assert.equal(resolveEvents(['INT_TASKLETHI_ENTRY', 'INT_TASKLET_ENTRY'], older)[0]?.filter, '(vec == 0) || (vec == 6)');
  assert.equal(resolveEvents(['INT_TASKLET_ENTRY', 'INT_BH_ENTRY'], older)[0]?.filter, undefined);
  assert.equal(resolveEvents(['INT_TASKLET_ENTRY', 'irq:softirq_entry'], older)[0]?.filter, undefined);
});

test('alternatives follow the kernel: older names when the newer are absent, members that exist only', () => {
  const older = new Set(['kmem:kmalloc', 'kmem:kmalloc_node', 'vmscan:mm_vmscan_writepage']);
  assert.deepEqual(ids(['MEM_MALLOC'], older), ['kmem:kmalloc', 'kmem:kmalloc_node']);
  assert.deepEqual(ids(['MEM_SWAPOUT'], older), ['vmscan:mm_vmscan_writepage']);
  assert.deepEqual(ids(['MEM_MALLOC'], live), ['kmem:kmalloc']);
});

test('LKST events without a tracepoint on this kernel are listed as unavailable, not errors', () => {
  const selection = resolveEventSet(['MEM_SWAPIN', 'O_PRINTK'], live);
  assert.deepEqual(selection.tracepoints.map((t) => t.id), ['printk:console']);
  assert.deepEqual(selection.unavailable.map((u) => u.name), ['MEM_SWAPIN']);
  assert.match(selection.unavailable[0]!.reason, /swap-in/);
  const bare = resolveEventSet(['LK_SPINLOCK'], new Set(['sched:sched_switch']));
  assert.match(bare.unavailable[0]!.reason, /lock:contention_begin/);
});

test('misspelt names fail with the closest names suggested', () => {
  assertLkstError(() => resolveEvents(['PROCES_WAKEUP'], live), 'unknown event "PROCES_WAKEUP"', 'did you mean PROCESS_WAKEUP');
  assertLkstError(() => resolveEvents(['mem_maloc'], live), 'MEM_MALLOC');
  assertLkstError(() => resolveEvents(['sched:sched_swich'], live), 'unknown tracepoint', 'sched:sched_switch');
  assertLkstError(() => resolveEvents(['sched_swtch'], live), 'sched:sched_switch');
  assertLkstError(() => resolveEvents(['kmem:kmaloc'], live), 'kmem:kmalloc');
  assertLkstError(() => resolveEvents(['memroy'], live), 'memory');
  assertLkstError(() => resolveEvents(['category:netw'], live), 'unknown category', 'category:net');
  assertLkstError(() => resolveEvents(['sched'], live), 'sched:*');
  assertLkstError(() => resolveEvents(['nosuchsystem:*'], live), 'unknown tracepoint pattern');
  assertLkstError(() => resolveEvents(['zzzzzzzzzzzzzzzz'], live), 'lkst events');
  assertLkstError(() => resolveEvents([' '], live), 'empty event name');
});

test('ambiguous bare names are refused with the spelled-out forms', () => {
  const available = new Set(['a:shared', 'b:shared', 'x:timer']);
  assertLkstError(() => expandName('shared', available), 'a:shared, b:shared', 'SYSTEM:EVENT');
  assertLkstError(() => expandName('timer', available), 'category:timer');
});
