// stats, state, latency and timers on a trace recorded from this kernel while a known workload ran.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { traceStats } from '../../src/analysis/stats.js';
import { stateAt } from '../../src/analysis/state.js';
import { analyzeLatency } from '../../src/analysis/latency.js';
import { analyzeTimers } from '../../src/analysis/timers.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { bindFields, hex } from '../../src/analysis/schema.js';
import { recordTrace, type RecordedTrace } from './record-trace.js';

const SLEEP_SEC = 0.3;
const NR_CLOCK_NANOSLEEP = 230;

/** Event counts per name as trace-cmd itself reports the file. */
function traceCmdCounts(path: string): Map<string, number> {
  const out = execFileSync('trace-cmd', ['report', path], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const counts = new Map<string, number>();
  for (const m of out.matchAll(/^\s*.*?-\d+\s+\[\d+\]\s+(?:\S+\s+)?\d+\.\d+:\s+(\w+):/gm)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  return counts;
}

describe('analyses of a trace recorded from this kernel', () => {
  let rec: RecordedTrace;
  let trace: OpenedTrace;
  let tmp: string;
  let pid = 0;
  let sleepEnter = 0;
  let sleepExit = 0;
  /** The sleeper's own hrtimer (the first it arms in its sleep): other tasks sleep too on a busy machine. */
  let sleepTimer = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lkst-pid-'));
    const pidFile = join(tmp, 'pid');
    // The shell writes its pid, then becomes `sleep` (same pid): one task with a known sleep.
    rec = await recordTrace(['sh', '-c', `echo $$ > ${pidFile}; cat /proc/self/stat > /dev/null; exec sleep ${SLEEP_SEC}`]);
    pid = Number(readFileSync(pidFile, 'utf8'));
    trace = openTrace(rec.path);
    const enter = bindFields(trace.registry, 'raw_syscalls', 'sys_enter', ['id'])!;
    const exit = bindFields(trace.registry, 'raw_syscalls', 'sys_exit', ['id'])!;
    const start = bindFields(trace.registry, 'timer', 'hrtimer_start', ['hrtimer'])!;
    forEachEvent(trace, {
      event: (ev) => {
        if (ev.pid !== pid) return;
        if (ev.id === enter.fmt.id && ev.num(enter.id) === NR_CLOCK_NANOSLEEP) sleepEnter = ev.ts;
        if (ev.id === exit.fmt.id && ev.num(exit.id) === NR_CLOCK_NANOSLEEP) sleepExit = ev.ts;
        if (ev.id === start.fmt.id && sleepEnter && !sleepExit && !sleepTimer) sleepTimer = hex(ev.big(start.hrtimer));
      },
    });
    assert.ok(sleepTimer, 'the trace holds the hrtimer the sleeper armed');
    assert.ok(sleepEnter > 0 && sleepExit > sleepEnter, 'the trace holds the sleeper’s clock_nanosleep');
  });
  after(() => {
    trace?.close();
    rec?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('stats count every event as trace-cmd reports it, per type and in total', () => {
    const s = traceStats(trace);
    const tc = traceCmdCounts(rec.path);
    const mine = new Map(s.byEvent.map((e) => [e.event.split(':')[1]!, e.count]));
    assert.deepEqual(new Map([...mine].sort()), new Map([...tc].sort()));
    assert.equal(s.events, [...tc.values()].reduce((a, b) => a + b, 0));
    assert.equal(s.byCpu.reduce((n, c) => n + c.events, 0), s.events);
    assert.ok(s.spanNs > SLEEP_SEC * 1e9, 'the span covers the sleep');
    const me = s.tasks.find((t) => t.pid === pid);
    assert.ok(me, 'the workload task is listed');
    assert.equal(me.comm, 'sleep');
    assert.ok(me.switches >= 1);
    assert.ok(s.tasks.some((t) => t.runNs > 0));
  });

  test('state in the middle of the sleep: sleeping in clock_nanosleep since the call, with its hrtimer pending', () => {
    const mid = Math.round((sleepEnter + sleepExit) / 2);
    const st = stateAt(trace, mid);
    const t = st.tasks.find((x) => x.pid === pid);
    assert.ok(t, 'the sleeper is known');
    assert.equal(t.state, 'sleeping');
    assert.equal(t.syscall?.name, 'clock_nanosleep');
    assert.equal(t.syscall?.since, sleepEnter);
    assert.ok(t.since >= sleepEnter && t.since < mid);
    assert.ok(st.cpus.every((c) => c.pid !== pid), 'it runs on no CPU');
    const hr = st.pendingTimers.find((x) => x.addr === sleepTimer);
    assert.ok(hr, 'its hrtimer is pending');
    assert.equal(hr.function, 'hrtimer_wakeup');
    assert.ok(hr.pending!.since >= sleepEnter);
    // Its expiry in trace time: the sleep's length after the call, and before the sleeper woke (1 ms for the clocks' skew).
    const at = hr.pending!.expiresAt;
    assert.ok(at !== undefined, 'the expiry is placed in trace time');
    assert.ok(at >= sleepEnter + SLEEP_SEC * 1e9 - 1e6 && at <= sleepExit + 1e6, `expiry ${at} between ${sleepEnter} + ${SLEEP_SEC} s and the wakeup ${sleepExit}`);
    for (const t of st.pendingTimers.filter((x) => x.kind === 'timer' && x.pending!.expiresAt !== undefined)) assert.ok(t.pending!.expiresAt! >= t.pending!.since, `${t.addr} expires after it was armed`);
    // After the sleep it is running or gone, not in the syscall.
    const later = stateAt(trace, sleepExit).tasks.find((x) => x.pid === pid)!;
    assert.equal(later.syscall, undefined);
  });

  test('latency: the sleep shows as a clock_nanosleep of at least its length, and the sleeper’s wakeup is measured', () => {
    const r = analyzeLatency(trace);
    const ns = r.syscalls.find((s) => s.name === 'clock_nanosleep');
    assert.ok(ns && ns.time.maxNs >= SLEEP_SEC * 1e9);
    assert.equal(ns.time.maxNs >= sleepExit - sleepEnter, true);
    const mine = r.wakeup.byTask.find((x) => x.pid === pid);
    assert.ok(mine && mine.latency.count >= 1, 'the wakeup after the sleep is measured');
    assert.ok(r.wakeup.worst.length > 0 && r.wakeup.worst[0]!.latencyNs === r.wakeup.all.maxNs);
    assert.equal(r.wakeup.all.log2Histogram.reduce((a, b) => a + b, 0), r.wakeup.all.count);
    assert.ok(r.irqs.length > 0, 'interrupt handlers are timed');
    // Who ran while a woken task waited: never the task itself, and no longer than the wait.
    for (const c of r.wakeup.worst) {
      assert.ok(!c.ranMeanwhile.some((m) => m.pid === c.pid), `${c.comm}:${c.pid} did not run while it waited`);
      assert.ok(c.ranMeanwhile.reduce((n, m) => n + m.ns, 0) <= c.latencyNs);
    }
  });

  test('timers: the sleeper’s hrtimer is armed and fires; a normal kernel gives no use-after-free finding', () => {
    const r = analyzeTimers(trace);
    assert.deepEqual(r.coverage, { timerEvents: true, freeEvents: true, allocSizes: true });
    const hr = r.timers.filter((t) => t.kind === 'hrtimer' && t.function === 'hrtimer_wakeup' && t.first <= sleepEnter + 1e6 && t.last >= sleepExit - 1e9);
    assert.ok(hr.some((t) => t.counts.start >= 1 && t.counts.expire >= 1), 'the sleep timer started and expired');
    assert.deepEqual(r.findings, []);
    assert.ok(r.freedTracked > 0, 'frees were tracked');
  });
});
