// Lost events, from a trace recorded on this kernel with a buffer far too small for a syscall storm:
// stats count them per CPU, the viewer marks where pages report them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { traceStats } from '../../src/analysis/stats.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { buildTimeline } from '../../src/web/timeline.js';
import { recordTrace, type RecordedTrace } from './record-trace.js';

describe('lost events', () => {
  let rec: RecordedTrace;
  let trace: OpenedTrace;

  before(async () => {
    rec = await recordTrace(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=300000', 'status=none'], ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'], { bufferKb: 8 });
    trace = openTrace(rec.path);
  });
  after(() => {
    trace?.close();
    rec?.cleanup();
  });

  test('stats report at least what the pages and the kernel counted, per CPU; the viewer marks page losses', () => {
    let flagged = 0;
    const perCpu = new Map<number, number>();
    forEachEvent(trace, {
      event: () => {},
      lost: (cpu, _ts, n) => {
        flagged++;
        if (n > 0) perCpu.set(cpu, (perCpu.get(cpu) ?? 0) + n);
      },
    });
    const s = traceStats(trace);
    assert.ok(s.lostTotal > 0, 'a 600k-event storm overran an 8 KiB buffer');
    for (const c of s.byCpu) {
      const counters = trace.buffers[0]!.cpus.find((x) => x.cpu === c.cpu)?.counters;
      assert.ok(c.lost >= (perCpu.get(c.cpu) ?? 0));
      // A fresh buffer: lost is exactly what the kernel counted from start to end.
      if (counters?.start && counters.end) assert.equal(c.lost, counters.end.overrun + counters.end.dropped - counters.start.overrun - counters.start.dropped);
    }
    const tl = buildTimeline(trace);
    assert.equal(tl.lost.ts.length, flagged);
  });
});
