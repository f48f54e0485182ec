import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommTable, EventRenderers, renderToString, type RenderContext } from '../../src/events/printfmt/index.js';
import { KernelSymbols } from '../../src/events/kallsyms.js';
import { parseCmdlines } from '../../src/events/cmdlines.js';
import { recordType } from '../../src/ringbuf/fields.js';
import { mergeRecords } from '../../src/ringbuf/merge.js';
import { fixtureRegistry, fixtureText, pageCapture, parseReportLine, rawPages, usecStamp } from './fixtures.js';

test("each record's print format renders as trace-cmd's text of it", () => {
  const cap = pageCapture();
  const reg = fixtureRegistry();
  const renderers = new EventRenderers((id) => reg.get(id));
  const ctx: RenderContext = { comms: CommTable.fromMap(parseCmdlines(fixtureText('pages', 'saved_cmdlines'))), symbols: new KernelSymbols(fixtureText('pages', 'kallsyms')) };
  // lkst.dat holds these very pages, so trace-cmd's report of it is their expected text, in time order.
  const expected = fixtureText('lkst.report.txt')
    .split('\n')
    .map(parseReportLine)
    .filter((l) => l !== undefined);
  const mismatches: string[] = [];
  const names = new Set<string>();
  let i = 0;
  mergeRecords(
    cap.cpus.map((cpu) => ({ chunks: [rawPages(cpu)], pageSize: cap.pageSize })),
    (input, ts, buf, off, len) => {
      const want = expected[i++];
      const ev = renderers.get(recordType(buf, off));
      assert.ok(ev, `record ${i}: id ${recordType(buf, off)} has a format`);
      // trace-cmd drops one newline that ends the text (a marker's).
      const got = { cpu: cap.cpus[input]!, stamp: usecStamp(ts), name: ev.fmt.name, text: renderToString(ev, buf, off, len, ctx).replace(/\n$/, '') };
      names.add(got.name);
      if (mismatches.length < 5 && JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`record ${i}:\n  trace-cmd: ${JSON.stringify(want)}\n  lkst:      ${JSON.stringify(got)}`);
    },
  );
  assert.deepEqual(mismatches, [], mismatches.join('\n'));
  assert.equal(i, expected.length, 'as many records as trace-cmd printed');
  for (const n of ['sched_switch', 'sched_wakeup', 'softirq_entry', 'hrtimer_start', 'timer_start', 'sys_enter', 'kmalloc', 'kmem_cache_free', 'print']) {
    assert.ok(names.has(n), `the fixture has a ${n} record`);
  }
});
