// Lost events, from a trace recorded on this kernel with a buffer far too small for a syscall storm:
// stats count them per CPU, the viewer marks where pages report them, latency leaves out the spans
// that hold one, state marks what was carried across one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { traceStats } from '../../src/analysis/stats.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { analyzeLatency } from '../../src/analysis/latency.js';
import { stateAt } from '../../src/analysis/state.js';
import { bindFields } from '../../src/analysis/schema.js';
import { buildViewData } from '../../src/web/view-data.js';
import { gapsWithin, lossGaps } from './gaps.js';
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
    const view = buildViewData(trace, 'lost');
    assert.equal(view.meta.lost.length, flagged);
  });

  test('latency leaves out exactly the system calls whose span holds a loss, and says where events were lost', () => {
    const gaps = lossGaps(trace);
    const enter = bindFields(trace.registry, 'raw_syscalls', 'sys_enter', ['id'])!;
    const exit = bindFields(trace.registry, 'raw_syscalls', 'sys_exit', ['id'])!;
    const inCall = new Map<number, { nr: number; ts: number }>();
    let kept = 0;
    let left = 0;
    forEachEvent(trace, {
      event: (ev) => {
        if (ev.id === enter.fmt.id) inCall.set(ev.pid, { nr: ev.num(enter.id), ts: ev.ts });
        else if (ev.id === exit.fmt.id) {
          const e = inCall.get(ev.pid);
          // rt_sigreturn exits with id -1.
          const nr = ev.num(exit.id);
          if (e && (e.nr === nr || nr < 0)) gapsWithin(gaps, e.ts, ev.ts).length ? left++ : kept++;
          inCall.delete(ev.pid);
        }
      },
    });
    const r = analyzeLatency(trace);
    assert.ok(left > 0, 'some calls spanned a loss');
    assert.equal(r.lossExcluded.syscalls, left);
    assert.equal(r.syscalls.reduce((n, s) => n + s.time.count, 0), kept);
    for (const cpu of new Set(gaps.map((g) => g.cpu))) assert.match(r.losses!, new RegExp(`lost on CPU ${cpu}\\b`));
  });

  test('state marks the rows carried across a loss, and only those', () => {
    const gaps = lossGaps(trace);
    const moments = [gaps[Math.floor(gaps.length / 2)]!.to, Infinity];
    const firstFrom = Math.min(...gaps.map((g) => g.from));
    if (firstFrom > 0) moments.push(firstFrom);
    const from = (ts: number) => (ts < 0 ? -Infinity : ts);
    for (const at of moments) {
      const st = stateAt(trace, at);
      assert.equal(!!st.losses, gapsWithin(gaps, -Infinity, st.at).length > 0);
      for (const c of st.cpus) {
        const since = from(Math.min(c.since, ...c.irqs.map((i) => i.since)));
        assert.equal(!!c.uncertain, gapsWithin(gaps, since, st.at, c.cpu).length > 0, `CPU ${c.cpu} at ${at}`);
      }
      for (const t of st.tasks) {
        const since = from(Math.min(t.since, t.syscall?.since ?? Infinity, t.waitingForLock?.since ?? Infinity, ...t.holdsLocks.map((h) => h.since)));
        assert.equal(!!t.uncertain, gapsWithin(gaps, since, st.at).length > 0, `task ${t.pid} at ${at}`);
      }
    }
  });
});
