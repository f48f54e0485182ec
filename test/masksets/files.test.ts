/** Maskset files: parsing, the store, and validation errors naming file and line (events from the running kernel). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatMaskset, parseMaskset } from '../../src/masksets/parse.js';
import { compileMaskset } from '../../src/masksets/compile.js';
import { loadMasksetEnv } from '../../src/masksets/env.js';
import { masksetCreate, masksetDelete, masksetEdit, masksetList, masksetShow } from '../../src/masksets/commands.js';
import { LkstError } from '../../src/base/errors.js';
import { CATEGORIES, DEFAULT_EVENT_NAMES, INTERVAL_EXITS } from '../../src/events/catalog.js';
import { tempConfig } from './kernel.js';

const cfg = tempConfig();
after(() => cfg.done());

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LkstError, String(err));
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
}

test('a maskset file reads back to the same table through format', () => {
  const text = [
    '# detail: context switches with stacks',
    '# second line',
    '',
    'include default',
    'PROCESS_CONTEXTSWITCH  stack   if="prev_pid == 1"   # trailing comment',
    "sched:sched_process_exec filter expr='filename ~ \"*sh\"'",
    'syscalls:sys_enter_getppid  pid pids=1,2 follow=true',
  ].join('\n');
  const m = parseMaskset('detail', text, '/x/detail.maskset');
  assert.equal(m.description, 'detail: context switches with stacks\nsecond line');
  assert.deepEqual(m.includes, ['default']);
  assert.deepEqual(m.entries[0]!.params, { if: 'prev_pid == 1' });
  assert.deepEqual(m.entries[1]!.params, { expr: 'filename ~ "*sh"' });
  assert.equal(m.entries[2]!.where, '/x/detail.maskset:7');
  const again = parseMaskset('detail', formatMaskset(m), 'y');
  assert.deepEqual(again.entries.map((e) => [e.event, e.handler, e.params]), m.entries.map((e) => [e.event, e.handler, e.params]));
  assert.deepEqual(again.includes, m.includes);
  assert.equal(again.description, m.description);
});

test('syntax errors name the file and line', () => {
  rejects(() => parseMaskset('x', 'sched:sched_switch\n', 'x.maskset'), /^x\.maskset:1: .*names no handler/);
  rejects(() => parseMaskset('x', '\n\nsched:sched_switch filter expr="a == 1\n', 'x.maskset'), /^x\.maskset:3: unclosed "/);
  rejects(() => parseMaskset('x', 'a record b\n', 'x.maskset'), /^x\.maskset:1: 'b' is not NAME=VALUE/);
});

test('unknown event, unknown handler and bad parameters are refused with file and line', async () => {
  const env = await loadMasksetEnv();
  const c = (text: string) => () => compileMaskset(parseMaskset('t', text, 't.maskset'), env);
  rejects(c('# t\nPROCESS_CONTEXTSWICH record\n'), /^t\.maskset:2: unknown event "PROCESS_CONTEXTSWICH".*did you mean PROCESS_CONTEXTSWITCH/);
  rejects(c('sched:sched_switch recrod\n'), /^t\.maskset:1: unknown handler 'recrod'.*record/);
  rejects(c('sched:sched_switch pid\n'), /^t\.maskset:1: handler pid needs pids=/);
  rejects(c('sched:sched_switch pid pids=12x\n'), /^t\.maskset:1: pids=12x: expected numbers/);
  rejects(c('sched:sched_switch record depth=3\n'), /^t\.maskset:1: handler record has no parameter 'depth'/);
  rejects(c('sched:sched_switch switch to=nosuch\n'), /^t\.maskset:1: .*no maskset named nosuch/);
});

test('built-in masksets: off, default (no locks), all, one per category', async () => {
  const env = await loadMasksetEnv();
  const names = env.store.list().filter((x) => x.builtin).map((x) => x.name);
  for (const n of ['off', 'default', 'all', ...CATEGORIES]) assert.ok(names.includes(n), n);
  assert.equal(env.store.load('off').entries.length, 0);
  const def = env.store.load('default').entries.map((e) => e.event);
  // LKST events, and the exits of their interval entries (tracepoints).
  assert.ok(def.every((e) => DEFAULT_EVENT_NAMES.includes(e) || Object.values(INTERVAL_EXITS).includes(e)), def.join(' '));
  assert.ok(!def.some((e) => e.startsWith('LK_')), 'no lock events in default');
  assert.ok(env.store.load('all').entries.some((e) => e.event.startsWith('LK_')));
  const plan = compileMaskset(env.store.load('default'), env);
  assert.deepEqual(plan.missing, [], 'default applies on this kernel without skipping');
  assert.ok(plan.tracepoints.get('sched:sched_switch')?.enabled);
  assert.ok(!plan.tracepoints.has('lock:contention_begin'));
});

test('create, show, edit, list and delete a maskset file', async () => {
  const out = await masksetCreate({ name: 'detail', from: 'process', entries: ['PROCESS_CONTEXTSWITCH stack', 'syscalls:sys_enter_getppid record'] });
  assert.match(out, /saved detail/);
  const shown = await masksetShow({ name: 'detail' });
  assert.match(shown, /^include process$/m);
  assert.match(shown, /^PROCESS_CONTEXTSWITCH\s+stack$/m);
  const kernel = await masksetShow({ name: 'detail', kernel: true });
  assert.match(kernel, /sched:sched_switch\s+record, trigger 'stacktrace'/);
  await masksetEdit({ name: 'detail', set: ['syscalls:sys_enter_getppid filter expr="common_pid == 1"'], remove: ['PROCESS_CONTEXTSWITCH'] });
  const edited = await masksetShow({ name: 'detail' });
  assert.doesNotMatch(edited, /PROCESS_CONTEXTSWITCH/);
  assert.match(edited, /sys_enter_getppid\s+filter\s+expr="common_pid == 1"/);
  await assert.rejects(masksetEdit({ name: 'detail', set: ['syscalls:sys_enter_getppid filter expr="nosuch == 1"'] }), /Field not found/);
  assert.match(await masksetShow({ name: 'detail' }), /common_pid == 1/, 'a rejected edit leaves the file as it was');
  assert.match(await masksetList(), /^\s+detail\s+file\s+\d+\s+process with changes$/m);
  await assert.rejects(masksetDelete({ name: 'process' }), /built in/);
  await assert.rejects(masksetCreate({ name: 'default' }), /exists/);
  assert.match(await masksetDelete({ name: 'detail' }), /deleted detail/);
  await assert.rejects(masksetShow({ name: 'detail' }), /no maskset named detail/);
});

test('a maskset file with a bad line is refused on create, naming its line', async () => {
  const dir = join(cfg.root, 'in');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'mine.maskset');
  writeFileSync(file, '# mine\nsched:sched_switch record\nsched:sched_wakeup stak\n');
  await assert.rejects(masksetCreate({ name: 'mine', file }), /mine\.maskset:3: unknown handler 'stak'/);
});

test('include cycles are refused', async () => {
  const env = await loadMasksetEnv();
  env.store.save('c1', 'include c2\n');
  env.store.save('c2', 'include c1\n');
  rejects(() => env.store.load('c1'), /c1 includes itself \(c1 -> c2 -> c1\)/);
});

test('handler set with a maskset edits that file, and null removes the entry', async () => {
  const { handlerSet } = await import('../../src/masksets/session.js');
  await masksetCreate({ name: 'hs', entries: ['sched:sched_switch record'] });
  assert.match((await handlerSet({ event: 'sched:sched_wakeup', handler: 'stack', params: ['if=pid == 1'], maskset: 'hs' })).text, /saved hs/);
  let shown = await masksetShow({ name: 'hs' });
  assert.match(shown, /^sched:sched_wakeup\s+stack\s+if="pid == 1"$/m);
  await handlerSet({ event: 'sched:sched_switch', handler: 'null', maskset: 'hs' });
  shown = await masksetShow({ name: 'hs' });
  assert.doesNotMatch(shown, /sched_switch/);
  await assert.rejects(handlerSet({ event: 'sched:sched_switch', handler: 'record', maskset: 'default' }), /built in/);
});
