import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CATEGORIES, LKST_EVENTS } from '../../src/events/catalog.js';
import { catalogRows, matchTracepoints, renderCatalog, renderKernelTracepoints } from '../../src/events/catalog-view.js';
import { availableEvents } from '../../src/events/live.js';
import { LkstError } from '../../src/base/errors.js';

const live = availableEvents();

test('the catalog view shows every category and event with its availability here', () => {
  const text = renderCatalog(live);
  for (const c of CATEGORIES) assert.match(text, new RegExp(`^${c} \\(`, 'm'));
  for (const e of LKST_EVENTS) assert.match(text, new RegExp(`^  ${e.name} +(yes|no ) `, 'm'));
  assert.match(text, /^  PROCESS_CONTEXTSWITCH +yes .*\n +tracepoints: sched:sched_switch$/m);
  assert.match(text, /^  O_PANIC +no .*\n +no equivalent: /m);
  assert.match(text, /^lock \(locks\) \[not in the default set\]$/m);
  assert.match(text, /LKST events can be traced on this kernel/);
});

test('an absent tracepoint is marked so', () => {
  const text = renderCatalog(new Set(['kmem:kmalloc']));
  assert.match(text, /^  MEM_MALLOC +yes .*\n +tracepoints: kmem:kmalloc, kmem:kmalloc_node \(absent\)/m);
  assert.match(text, /^  PROCESS_CONTEXTSWITCH +no /m);
});

test('the kernel listing filters by glob and names the LKST events each tracepoint carries', () => {
  const lines = renderKernelTracepoints(live, 'sched:*').trimEnd().split('\n');
  assert.ok(lines.every((l) => l.startsWith('sched:')));
  assert.ok(lines.some((l) => /^sched:sched_switch +PROCESS_CONTEXTSWITCH$/.test(l)));
  assert.equal(renderKernelTracepoints(live).trimEnd().split('\n').length, live.size);
  assert.deepEqual(matchTracepoints(live, 'raw_syscalls'), ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit']);
  assert.deepEqual(matchTracepoints(live, 'kfree'), ['kmem:kfree']);
  assert.throws(() => matchTracepoints(live, 'sched_swich'), (err: unknown) => err instanceof LkstError && /sched:sched_switch/.test(err.message));
  assert.throws(() => matchTracepoints(live, 'nothing*here'), LkstError);
});

test('catalog rows carry the same facts as plain JSON-able data', () => {
  const rows = catalogRows(new Set(['kmem:kmalloc']));
  assert.equal(rows.length, LKST_EVENTS.length);
  const malloc = rows.find((r) => r.name === 'MEM_MALLOC');
  assert.deepEqual(malloc?.tracepoints, ['kmem:kmalloc']);
  assert.deepEqual(malloc?.alternatives, [[{ id: 'kmem:kmalloc', present: true }, { id: 'kmem:kmalloc_node', present: false }]]);
  assert.equal(rows.find((r) => r.name === 'LK_SPINLOCK')?.inDefault, false);
  assert.deepEqual(JSON.parse(JSON.stringify(rows)), rows);
});
