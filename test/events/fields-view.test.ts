import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { lkst, isOneLineError } from '../helpers/cli.js';
import { tracefs } from '../../src/tracefs/tracefs.js';

/** The field lines of the kernel's own format file, as name/offset/size/signed. */
function kernelFields(system: string, event: string): string[] {
  const text = readFileSync(tracefs().path(`events/${system}/${event}/format`), 'utf8');
  return [...text.matchAll(/field:.*?(\w+)(?:\[\d*\])?;\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4] === '1' ? 'yes' : 'no'}`);
}

function shownFields(out: string, id: string): string[] {
  const block = out.split(/\n(?=\S)/).find((b) => b.startsWith(`${id} `))!;
  assert.ok(block, `${id} is listed`);
  return block
    .split('\n')
    .slice(2)
    .filter((l) => l.trim() && !l.includes('print fmt:'))
    .map((l) => {
      const c = l.trim().split(/\s{2,}/);
      return `${c[0]} ${c[2]} ${c[3]} ${c[4]}`;
    });
}

test('events --fields with an LKST name shows the kernel format file\'s fields, types and print format', () => {
  const r = lkst(['events', '--fields', 'PROCESS_CONTEXTSWITCH']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sched:sched_switch \(id \d+\)  PROCESS_CONTEXTSWITCH$/m);
  assert.deepEqual(shownFields(r.stdout, 'sched:sched_switch'), kernelFields('sched', 'sched_switch'));
  assert.match(r.stdout, /^  prev_comm +char\[16\] +8 +16 +no$/m);
  const fmt = /^print fmt: (.*)$/m.exec(readFileSync(tracefs().path('events/sched/sched_switch/format'), 'utf8'))![1]!;
  assert.ok(r.stdout.includes(`  print fmt: ${fmt}\n`));
});

test('events --fields takes system:event and globs, and dynamic fields show as __data_loc', () => {
  const one = lkst(['events', '--fields', 'sched:sched_process_exec']);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /^  filename +__data_loc char\[\] +\d+ +4 +no$/m);
  assert.deepEqual(shownFields(one.stdout, 'sched:sched_process_exec'), kernelFields('sched', 'sched_process_exec'));
  const glob = lkst(['events', '--fields', 'raw_syscalls:*']);
  assert.equal(glob.status, 0, glob.stderr);
  assert.deepEqual(glob.stdout.match(/^\S+(?= \(id)/gm), ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit']);
  assert.deepEqual(shownFields(glob.stdout, 'raw_syscalls:sys_enter'), kernelFields('raw_syscalls', 'sys_enter'));
});

test('events --fields with an unknown name gives one line with the closest names', () => {
  const r = lkst(['events', '--fields', 'sched:sched_swich']);
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /unknown tracepoint "sched:sched_swich".*sched:sched_switch/);
});
