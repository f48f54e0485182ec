import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFormat, parseHeaderPage } from '../../src/events/format.js';
import { compileEvent } from '../../src/events/printfmt/index.js';
import { PAGE_HEADER_SIZE } from '../../src/ringbuf/page.js';
import { fixtureFormats, fixtureText, pageCapture } from './fixtures.js';

test('header_page gives the page layout the decoder assumes', () => {
  const hp = parseHeaderPage(fixtureText('kernel', 'header_page'));
  assert.deepEqual(
    { ts: hp.timestampOffset, commit: hp.commitOffset, commitSize: hp.commitSize, data: hp.dataOffset },
    { ts: 0, commit: 8, commitSize: 8, data: PAGE_HEADER_SIZE },
  );
  assert.equal(hp.dataOffset + hp.dataSize, pageCapture().pageSize);
});

test('every captured format parses into all its fields, laid out without overlap', () => {
  const formats = fixtureFormats();
  assert.ok(formats.length >= 30, `only ${formats.length} formats`);
  assert.equal(new Set(formats.map((f) => f.id)).size, formats.length, 'ids are unique');
  for (const f of formats) {
    const where = `${f.system}:${f.name}`;
    const declared = f.text.split('\n').filter((l) => /^\s*field:/.test(l)).length;
    assert.equal(f.commonFields.length + f.fields.length, declared, `${where}: every field line`);
    assert.deepEqual(
      f.commonFields.map((c) => [c.name, c.offset, c.size]),
      [
        ['common_type', 0, 2],
        ['common_flags', 2, 1],
        ['common_preempt_count', 3, 1],
        ['common_pid', 4, 4],
      ],
      `${where}: common fields`,
    );
    let end = 8;
    for (const field of f.fields) {
      // Only a trailing unsized array (ftrace:print's buf[]) has size 0.
      assert.ok(field.offset >= end && (field.size > 0 || field.arrayLen === 0), `${where}: ${field.name} at ${field.offset} (${field.size} bytes) after ${end}`);
      end = field.offset + field.size;
      assert.equal(f.fieldByName.get(field.name), field);
    }
    assert.match(f.printFmt, /^"/, `${where}: print fmt starts with its format string`);
  }
});

test('field types: fixed strings, dynamic strings, arrays, signed values and pointers', () => {
  const byId = new Map(fixtureFormats().map((f) => [`${f.system}:${f.name}`, f]));
  const field = (ev: string, name: string) => {
    const f = byId.get(ev)?.fieldByName.get(name);
    assert.ok(f, `${ev} has ${name}`);
    return f;
  };
  const comm = field('sched:sched_switch', 'prev_comm');
  assert.deepEqual([comm.arrayLen, comm.size, comm.isString, comm.dynamic], [16, 16, true, 'none']);
  const state = field('sched:sched_switch', 'prev_state');
  assert.deepEqual([state.type, state.size, state.signed], ['long', 8, true]);
  const irqName = field('irq:irq_handler_entry', 'name');
  assert.deepEqual([irqName.dynamic, irqName.isString, irqName.arrayLen], ['data_loc', true, 0]);
  const args = field('raw_syscalls:sys_enter', 'args');
  assert.deepEqual([args.arrayLen, args.elemSize, args.isString], [6, 8, false]);
  assert.equal(field('timer:timer_start', 'function').isPointer, true);
  assert.equal(field('kmem:kmalloc', 'call_site').isPointer, false, 'call_site is an unsigned long, printed with %pS');
});

test('every captured print format compiles without falling back to raw fields', () => {
  const failures = fixtureFormats()
    .map((f) => [`${f.system}:${f.name}`, compileEvent(f).failure] as const)
    .filter(([, failure]) => failure !== undefined);
  assert.deepEqual(failures, []);
});

test('a format without its ID line is refused with a message naming the cause', () => {
  const text = fixtureText('kernel', 'formats', 'sched', 'sched_switch').replace(/^ID: \d+\n/m, '');
  assert.throws(() => parseFormat(text, 'sched'), /no name or ID/);
});
