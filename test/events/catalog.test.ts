import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogAvailability } from '../../src/events/availability.js';
import { ALL_EVENT_NAMES, CATEGORIES, DEFAULT_EVENT_NAMES, LKST_EVENTS, lkstEvent } from '../../src/events/catalog.js';
import { availableEvents, readLiveFormat } from '../../src/events/live.js';
import { resolveEvents, splitTracepointId } from '../../src/events/resolve.js';

// The seed's slide "イベント一覧", category by category.
const SEED_EVENTS: Record<string, string[]> = {
  process: ['PROCESS_CONTEXTSWITCH', 'PROCESS_WAKEUP', 'PROCESS_SIGSEND', 'PROCESS_LTHREADGEN'],
  interrupt: ['INT_HARDWARE_ENTRY', 'INT_TASKLETHI_ENTRY', 'INT_TASKLET_ENTRY', 'INT_BH_ENTRY'],
  exception: ['EXCEPTION_ENTRY', 'EXCEPTION_EXIT'],
  syscall: ['SYSCALL_ENTRY', 'SYSCALL_EXIT'],
  memory: [
    'MEM_SWAPOUT', 'MEM_SWAPIN', 'MEM_DO_NOPAGE', 'MEM_DO_WPPAGE', 'MEM_WAIT_PAGE', 'MEM_GET_FREEPAGE', 'MEM_GET_ZEROPAGE',
    'MEM_FREEPAGE', 'MEM_VMALLOC', 'MEM_VFREE', 'MEM_CACHE_CREATE', 'MEM_CACHE_ALLOC', 'MEM_MALLOC', 'MEM_CACHE_FREE', 'MEM_FREE',
  ],
  fs: ['FS_DEVRW', 'FS_DEVEND', 'FS_BUFBUSY'],
  net: ['NET_PKTSEND', 'NET_PKTSENDI', 'NET_PKTRECV', 'NET_PKTRECVI', 'NET_SOCKETIF'],
  ipc: ['SYSV_IPC'],
  lock: ['LK_SPINLOCK', 'LK_SPINTRYLOCK', 'LK_SPINUNLOCK', 'LK_WRLOCK', 'LK_WRTRYLOCK', 'LK_WRUNLOCK', 'LK_RDLOCK', 'LK_RDUNLOCK'],
  timer: ['TIMER_RUN', 'TIMER_ADD', 'TIMER_MOD', 'TIMER_DEL', 'TIMER_DEL_SYNC'],
  other: ['O_PORTIN', 'O_PORTOUT', 'O_PANIC', 'O_PRINTK'],
};

test('the catalog holds exactly the seed event list, each in its category', () => {
  assert.deepEqual(Object.keys(SEED_EVENTS), [...CATEGORIES]);
  for (const [category, names] of Object.entries(SEED_EVENTS)) {
    assert.deepEqual(LKST_EVENTS.filter((e) => e.category === category).map((e) => e.name), names, category);
  }
  assert.equal(new Set(LKST_EVENTS.map((e) => e.name)).size, LKST_EVENTS.length);
});

test('every entry is well formed: one-line description, well-formed ids, notes where the mapping is not exact', () => {
  for (const e of LKST_EVENTS) {
    assert.match(e.description, /^[^\n]{10,100}$/, e.name);
    for (const ref of e.alternatives.flat()) assert.match(ref.id, /^[a-z0-9_]+:[a-z0-9_]+$/, `${e.name}: ${ref.id}`);
    assert.ok(e.alternatives.every((alt) => alt.length > 0), `${e.name}: empty alternative`);
    assert.equal(e.alternatives.length === 0, e.fidelity === 'none', `${e.name}: no tracepoints iff no equivalent`);
    if (e.fidelity !== 'exact') assert.ok(e.note, `${e.name}: a ${e.fidelity} mapping needs a note`);
  }
});

test('default is every event but the locks; all is everything; lookup ignores case', () => {
  assert.deepEqual(DEFAULT_EVENT_NAMES, LKST_EVENTS.filter((e) => e.category !== 'lock').map((e) => e.name));
  assert.deepEqual(ALL_EVENT_NAMES, LKST_EVENTS.map((e) => e.name));
  assert.equal(lkstEvent('mem_malloc')?.name, 'MEM_MALLOC');
  assert.equal(lkstEvent('MEM_NOPE'), undefined);
});

test('on this kernel every default event has a present tracepoint or an explicit note', () => {
  const available = availableEvents();
  const defaults = catalogAvailability(available).filter((row) => DEFAULT_EVENT_NAMES.includes(row.event.name));
  for (const row of defaults) {
    assert.ok(row.available || row.event.note, `${row.event.name}: no tracepoint here and no note`);
    for (const ref of row.tracepoints) assert.ok(available.has(ref.id), `${row.event.name}: ${ref.id}`);
  }
});

test('on this kernel every exactly-mapped event is traceable', () => {
  const available = availableEvents();
  const missing = catalogAvailability(available).filter((row) => row.event.fidelity === 'exact' && !row.available);
  assert.deepEqual(missing.map((row) => row.event.name), []);
});

test("every filter names fields of the tracepoint's format on this kernel", () => {
  const available = availableEvents();
  for (const ref of LKST_EVENTS.flatMap((e) => e.alternatives.flat())) {
    if (!ref.filter || !available.has(ref.id)) continue;
    const { system, event } = splitTracepointId(ref.id);
    const format = readLiveFormat(system, event);
    const fields = ref.filter.match(/[a-z_][a-z0-9_]*/g) ?? [];
    for (const field of fields) assert.ok(format.fieldByName.has(field), `${ref.id}: filter field ${field}`);
  }
});

test('the default set stays light: raw_syscalls, no per-syscall events beyond SysV IPC', () => {
  const tracepoints = resolveEvents(['default'], availableEvents());
  const ids = tracepoints.map((t) => t.id);
  assert.ok(ids.includes('raw_syscalls:sys_enter') && ids.includes('raw_syscalls:sys_exit'));
  const perSyscall = tracepoints.filter((t) => t.system === 'syscalls');
  assert.ok(perSyscall.every((t) => t.lkst.includes('SYSV_IPC') || t.lkst.includes('NET_SOCKETIF')), perSyscall.map((t) => t.id).join());
  assert.ok(!ids.some((id) => id.startsWith('lock:')));
  assert.ok(tracepoints.length <= 60, `${tracepoints.length} tracepoints`);
});
