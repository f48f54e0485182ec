import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableEvents } from '../../src/events/live.js';
import { expandName, resolveEventSet, resolveEvents } from '../../src/events/resolve.js';
import { LkstError } from '../../src/base/errors.js';

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

test('a comma separates names within one string', () => {
  assert.deepEqual(ids(['sched:sched_switch, TIMER_RUN,']), ['sched:sched_switch', 'timer:timer_expire_entry']);
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

// The catalog's tracepoints that Debian's 6.1.0-56 kernel has, checked against the event names and
// print formats in its vmlinux: no vmalloc, sock or filemap events, no lockdep, kmalloc_node gone.
const DEBIAN_6_1 = new Set([
  'sched:sched_switch', 'sched:sched_wakeup', 'sched:sched_wakeup_new', 'signal:signal_generate', 'task:task_newtask',
  'sched:sched_process_fork', 'irq:irq_handler_entry', 'irq_vectors:local_timer_entry', 'irq:softirq_entry', 'irq:tasklet_entry',
  'exceptions:page_fault_user', 'exceptions:page_fault_kernel', 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit',
  'vmscan:mm_vmscan_write_folio', 'writeback:folio_wait_writeback', 'kmem:mm_page_alloc', 'kmem:mm_page_free',
  'kmem:kmem_cache_alloc', 'kmem:kmalloc', 'kmem:kmem_cache_free', 'kmem:kfree', 'block:block_rq_issue', 'block:block_rq_complete',
  'net:net_dev_queue', 'net:net_dev_xmit', 'net:netif_receive_skb', 'net:netif_rx', 'net:napi_gro_receive_entry',
  ...['sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl', 'shmget', 'shmat', 'shmdt', 'shmctl'].map(
    (call) => `syscalls:sys_enter_${call}`,
  ),
  'lock:contention_begin', 'lock:contention_end', 'timer:timer_expire_entry', 'timer:timer_start', 'timer:timer_cancel', 'printk:console',
]);

test('on a 6.1 kernel the older alternatives take over', () => {
  assert.deepEqual(ids(['NET_SOCKETIF'], DEBIAN_6_1), ['sendto', 'recvfrom', 'sendmsg', 'recvmsg'].map((c) => `syscalls:sys_enter_${c}`));
  assert.deepEqual(ids(['MEM_DO_NOPAGE'], DEBIAN_6_1), ['exceptions:page_fault_user']);
  assert.deepEqual(ids(['INT_TASKLET_ENTRY'], DEBIAN_6_1), ['irq:tasklet_entry']);
  const selection = resolveEventSet(['default'], DEBIAN_6_1);
  assert.deepEqual(selection.unavailable.map((u) => u.name), [
    'EXCEPTION_EXIT', 'MEM_SWAPIN', 'MEM_VMALLOC', 'MEM_VFREE', 'MEM_CACHE_CREATE', 'FS_BUFBUSY', 'O_PORTIN', 'O_PORTOUT', 'O_PANIC',
  ]);
  assert.ok(selection.tracepoints.every((t) => DEBIAN_6_1.has(t.id)));
});
