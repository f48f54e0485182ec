// `analyze timers` on this (healthy) kernel under everyday workloads, recorded with a normal buffer
// and with a 16 KiB one that loses events: no certain finding. Findings a loss may explain are
// uncertain and name exactly the losses inside their window, as the stream reports them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { bindFields } from '../../src/analysis/schema.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { fmtTs } from '../../src/analysis/time.js';
import { analyzeTimers, type TimerFinding } from '../../src/analysis/timers.js';
import { gapsWithin, lossGaps, type Gap } from './gaps.js';
import { ANALYSIS_EVENTS, recordTrace } from './record-trace.js';
import { healthyWorkloads } from './workloads.js';

const TIMER_EVENTS = ANALYSIS_EVENTS.filter((e) => e.startsWith('timer:') || e.startsWith('kmem:'));

/** Timers whose callback freed the object holding them (free between expire_entry and expire_exit). */
function selfFreeing(trace: OpenedTrace): number {
  const reg = trace.registry;
  const entry = bindFields(reg, 'timer', 'timer_expire_entry', ['timer'])!;
  const exit = bindFields(reg, 'timer', 'timer_expire_exit', ['timer'])!;
  const free = bindFields(reg, 'kmem', 'kmem_cache_free', ['ptr'])!;
  const running = new Map<number, { timer: bigint; freed: boolean }>();
  let n = 0;
  forEachEvent(trace, {
    event: (ev) => {
      if (ev.id === entry.fmt.id) running.set(ev.cpu, { timer: ev.big(entry.timer), freed: false });
      else if (ev.id === free.fmt.id) {
        const r = running.get(ev.cpu);
        const ptr = ev.big(free.ptr);
        if (r && ptr <= r.timer && r.timer < ptr + 4096n) r.freed = true;
      } else if (ev.id === exit.fmt.id) {
        const r = running.get(ev.cpu);
        if (r?.freed && r.timer === ev.big(exit.timer)) n++;
        running.delete(ev.cpu);
      }
    },
  });
  return n;
}

/** The loss clauses of an uncertain text, by CPU. */
function lossClauses(text: string): Map<number, { atLeast: boolean; count: number | undefined; gaps: number; where: string }> {
  const out = new Map();
  const re = /(?:(at least )?([\d,]+) events?|an unknown number of events) lost on CPU (\d+)(?: in (\d+) gaps)? (between \d+\.\d{6} and \d+\.\d{6}|before \d+\.\d{6}|at times the trace does not mark)/g;
  for (const m of text.matchAll(re)) out.set(Number(m[3]), { atLeast: !!m[1], count: m[2] ? Number(m[2].replace(/,/g, '')) : undefined, gaps: m[4] ? Number(m[4]) : 1, where: m[5]! });
  return out;
}

/** Every finding names exactly the losses in its window; one with none there names none. */
function assertLossTexts(all: TimerFinding[], gaps: Gap[]): void {
  for (const f of all) {
    const inWindow = gapsWithin(gaps, f.evidence[0]!.ts, f.ts);
    const said = lossClauses(f.uncertain ?? '');
    assert.deepEqual([...said.keys()].sort(), [...new Set(inWindow.map((g) => g.cpu))].sort(), `${f.message}: ${f.uncertain}`);
    for (const [cpu, c] of said) {
      const mine = inWindow.filter((g) => g.cpu === cpu);
      assert.equal(c.gaps, mine.length);
      const from = Math.min(...mine.map((g) => g.from));
      const to = Math.max(...mine.map((g) => g.to));
      assert.equal(c.where, from < 0 ? `before ${fmtTs(to)}` : `between ${fmtTs(from)} and ${fmtTs(to)}`);
      const counted = mine.reduce((n, g) => n + Math.max(0, g.count), 0);
      if (mine.every((g) => g.count >= 0)) assert.equal(c.count, counted);
      else assert.ok(c.count === undefined || c.count >= counted);
    }
  }
}

describe('timers on a healthy kernel: no certain finding', () => {
  for (const w of healthyWorkloads()) {
    for (const tiny of w.storm ? [false, true] : [false]) {
      test(`${w.name}${tiny ? ', 16 KiB buffer: events lost' : ''}`, async (t) => {
        const rec = await recordTrace(w.command(), TIMER_EVENTS, { bufferKb: tiny ? 16 : 8192 });
        const trace = openTrace(rec.path);
        try {
          assert.equal(rec.exitCode, 0, 'the workload ran');
          const r = analyzeTimers(trace);
          assert.deepEqual(r.coverage, { timerEvents: true, freeEvents: true, allocSizes: true });
          assert.deepEqual(r.findings.map((f) => `${f.kind}: ${f.message}`), []);
          const gaps = lossGaps(trace);
          // The recorder may keep up even with 16 KiB (a quiet machine; or a workload slowed by load):
          // then the findings are checked as above, and what a loss does to them is not tested this time.
          if (tiny && !gaps.length) return t.skip('the recorder kept up with this workload in a 16 KiB buffer here: nothing lost (no certain finding, checked)');
          assertLossTexts(r.uncertainFindings, gaps);
          // Sockets freed and their memory handed out again while events were lost: findings that must be uncertain.
          if (tiny && w.name.startsWith('web')) assert.ok(r.uncertainFindings.some((f) => lossClauses(f.uncertain!).size > 0), 'findings a loss may explain');
          if (w.name.startsWith('timewait')) assert.ok(selfFreeing(trace) >= 1, 'timers freed their own object in their callback');
        } finally {
          trace.close();
          rec.cleanup();
        }
      });
    }
  }
});
