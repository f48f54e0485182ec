import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { parseFormat } from '../../src/events/format.js';
import { compileEvent } from '../../src/events/printfmt/index.js';
import { tracefs } from '../../src/tracefs/tracefs.js';

/**
 * Print formats libtraceevent itself cannot parse (trace-cmd shows these events as
 * "[FAILED TO PARSE]" and raw fields, and so does lkst): GNU statement expressions, sizeof of a
 * typedef, functions no plugin defines, empty or malformed flag tables.
 */
const LIBTRACEEVENT_LIMITS = [/^sizeof\(\w+\) not understood$/, /^bad op token [{}]$/, /^function \w+ not defined$/];

test('every event format of this kernel parses and compiles', () => {
  const root = tracefs().path('events');
  let count = 0;
  const failures: string[] = [];
  for (const system of readdirSync(root)) {
    const dir = `${root}/${system}`;
    if (!existsSync(`${dir}/enable`) || existsSync(`${dir}/format`)) continue;
    for (const event of readdirSync(dir)) {
      const path = `${dir}/${event}/format`;
      if (!existsSync(path)) continue;
      const compiled = compileEvent(parseFormat(readFileSync(path, 'utf8'), system));
      count++;
      if (compiled.failure && !LIBTRACEEVENT_LIMITS.some((re) => re.test(compiled.failure!))) failures.push(`${system}:${event}: ${compiled.failure}`);
    }
  }
  assert.ok(count > 500, `only ${count} formats found`);
  assert.deepEqual(failures, []);
});

test('the issue\'s common events compile without falling back to raw fields', () => {
  const must = ['sched/sched_switch', 'sched/sched_wakeup', 'sched/sched_process_fork', 'irq/irq_handler_entry', 'irq/softirq_entry', 'timer/timer_start', 'timer/hrtimer_start', 'raw_syscalls/sys_enter', 'syscalls/sys_enter_openat', 'kmem/kmalloc', 'kmem/mm_page_alloc'];
  for (const id of must) {
    const [system, event] = id.split('/') as [string, string];
    const path = tracefs().path(`events/${id}/format`);
    if (!existsSync(path)) continue;
    const c = compileEvent(parseFormat(readFileSync(path, 'utf8'), system));
    assert.equal(c.failure, undefined, `${system}:${event}: ${c.failure}`);
  }
});
