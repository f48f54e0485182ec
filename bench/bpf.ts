/**
 * The BPF engine beside ftrace, in one run, medians of LKST_BENCH_RUNS (default 5):
 * - per-event cost (dd's CPU time) on raw_syscalls:sys_enter of a dd of 1-byte copies: nothing traced, the ftrace
 *   ring write (an instance), the BPF `record` handler (ring buffer, drained by lkst-bpf-run), the
 *   BPF `count by=pid,id` handler (no record), `alert if=` whose condition does not hold (the test per
 *   event) and that fires on every event (a record into the alert ring), `route` of dd's events to
 *   their own buffer (dd joins the set by follow=true from this process) and of nobody's (the pid test only);
 * - the switch window: one map write of the BPF table vs today's trigger/tracefs switch
 *   (`default` -> `process` applied to an instance);
 * - attach time of the default maskset's tracepoints as BPF `record` programs (compile cached);
 * - loss at the highest rate driven here: two dd storms at once, BPF record on sys_enter and sys_exit.
 * LKST_BENCH_JSON=FILE writes the figures there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handlerProgram, type HandlerUnit, type ProgramOptions } from '../src/bpf/codegen.js';
import { compiledObject, BpfEngine } from '../src/bpf/engine.js';
import { detectBpf, programOptions } from '../src/bpf/features.js';
import { switchLiveTable } from '../src/bpf/live-counts.js';
import { BpfRun } from '../src/bpf/runner.js';
import { readLiveFormat } from '../src/events/live.js';
import { loadMasksetEnv } from '../src/masksets/env.js';
import { compileMaskset } from '../src/masksets/compile.js';
import { applyPlan, clearInstance } from '../src/masksets/apply.js';
import { Instance } from '../src/tracefs/instance.js';

const RUNS = Number(process.env['LKST_BENCH_RUNS'] ?? 5);
const COPIES = Number(process.env['LKST_BENCH_COPIES'] ?? 200_000);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU time (user + system) of waited-for children so far, in seconds (/proc/self/stat cutime + cstime). */
function childCpuSeconds(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').slice(readFileSync('/proc/self/stat', 'utf8').lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

/**
 * The CPU time a dd of 1-byte copies takes: a tracepoint's probes (ftrace's ring write, a BPF
 * program) run in dd's syscalls and are charged to it; CPU time, not wall time, so other load on
 * the machine does not count. lkst-bpf-run's draining is not in it.
 */
function ddSeconds(copies = COPIES): number {
  const t0 = childCpuSeconds();
  spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${copies}`], { stdio: 'ignore' });
  return childCpuSeconds() - t0;
}

/** opts: the engine's own by default (tp_btf programs where assign.ts builds the record). */
async function withRun<T>(units: HandlerUnit[], fn: () => T | Promise<T>, opts: ProgramOptions = programOptions()): Promise<{ value: T; lost: number; written: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-bpf-'));
  const program = handlerProgram(units, opts);
  const init = program.slots.map((s) => `pids ${s.map} ${s.pids.join(' ')}`);
  const run = new BpfRun(compiledObject(program.source, detectBpf().tools), dir, undefined, [], init);
  try {
    await run.started();
    const value = await fn();
    const r = await run.finish();
    const all = r.buffers.flat();
    return { value, lost: all.reduce((n, c) => n + c.lost, 0), written: all.reduce((n, c) => n + c.written, 0) };
  } finally {
    run.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function perEventCost(): Promise<Record<string, number>> {
  const fmt = readLiveFormat('raw_syscalls', 'sys_enter');
  const events = 2 * COPIES;
  const none: number[] = [];
  const ftrace: number[] = [];
  const bpfRecord: number[] = [];
  const bpfRecordTracepoint: number[] = [];
  const bpfCount: number[] = [];
  const fork = readLiveFormat('sched', 'sched_process_fork');
  const more: Record<string, { units: HandlerUnit[]; cpu: number[] }> = {
    bpfAlertNotFiringNsPerEvent: { units: [{ handler: 'alert', format: fmt, cond: '(u64)(u32)bpf_get_current_pid_tgid() == 0' }], cpu: [] },
    bpfAlertFiringNsPerEvent: { units: [{ handler: 'alert', format: fmt }], cpu: [] },
    bpfRouteNsPerEvent: { units: [{ handler: 'record', format: fmt, pids: [process.pid], follow: fork, buffer: 'dd' }], cpu: [] },
    bpfRouteNotRoutedNsPerEvent: { units: [{ handler: 'record', format: fmt, pids: [1], buffer: 'init' }], cpu: [] },
  };
  const inst = Instance.createOwned('bench-bpf');
  try {
    inst.bufferSizeKb = 4096;
    for (let i = 0; i < RUNS; i++) {
      none.push(ddSeconds());
      inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
      inst.tracingOn = true;
      ftrace.push(ddSeconds());
      inst.setEventEnabled('raw_syscalls', 'sys_enter', false);
      bpfRecord.push((await withRun([{ handler: 'record', format: fmt }], () => ddSeconds())).value);
      // The same record through a tracepoint/ program (the perf record copied), as before tp_btf.
      const { tpBtf: _, ...tracepointOnly } = programOptions();
      bpfRecordTracepoint.push((await withRun([{ handler: 'record', format: fmt }], () => ddSeconds(), tracepointOnly)).value);
      bpfCount.push((await withRun([{ handler: 'count', format: fmt, by: ['pid', 'id'] }], () => ddSeconds())).value);
      for (const m of Object.values(more)) m.cpu.push((await withRun(m.units, () => ddSeconds())).value);
    }
  } finally {
    inst.setEventEnabled('raw_syscalls', 'sys_enter', false);
    inst.remove();
  }
  const base = median(none);
  const ns = (xs: number[]) => Math.round(((median(xs) - base) / events) * 1e9);
  return {
    ddCpuSecondsUntraced: base,
    ftraceRingNsPerEvent: ns(ftrace),
    bpfRecordNsPerEvent: ns(bpfRecord),
    bpfRecordTracepointNsPerEvent: ns(bpfRecordTracepoint),
    bpfCountNsPerEvent: ns(bpfCount),
    ...Object.fromEntries(Object.entries(more).map(([k, m]) => [k, ns(m.cpu)])),
  };
}

async function switchWindows(): Promise<Record<string, number>> {
  const env = await loadMasksetEnv();
  const a = compileMaskset(env.store.load('default'), env);
  const b = compileMaskset(env.store.load('process'), env);
  const inst = Instance.createOwned('bench-sw');
  const trigger: number[] = [];
  try {
    applyPlan(inst, a, { skipMissing: true });
    for (let i = 0; i < RUNS; i++) {
      trigger.push(applyPlan(inst, b, { previous: a, skipMissing: true }).windowNs);
      applyPlan(inst, a, { previous: b, skipMissing: true });
    }
  } finally {
    clearInstance(inst);
    inst.remove();
  }
  // The BPF table: two masksets of count handlers, switched by lkst-bpf-run's map write.
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-sw-'));
  const name = `lkst-bench-sw-${process.pid}`;
  const entries = [
    { tp: 'raw_syscalls:sys_enter', handler: 'count' as const, params: { by: 'pid' }, from: 'bench', maskset: 0 },
    { tp: 'raw_syscalls:sys_exit', handler: 'count' as const, params: { by: 'pid' }, from: 'bench', maskset: 1 },
  ];
  const engine = await BpfEngine.start(entries, { workDir: dir, instance: name, masksets: ['a', 'b'] });
  const bpf: number[] = [];
  try {
    for (let i = 0; i < 4 * RUNS; i++) bpf.push((await switchLiveTable(name, i % 2 ? 0 : 1)).windowNs);
    await engine.finish(4096);
  } finally {
    engine.discard();
    rmSync(dir, { recursive: true, force: true });
  }
  return { triggerSwitchWindowUs: median(trigger) / 1000, bpfTableSwitchWindowUs: median(bpf) / 1000 };
}

async function attachDefault(): Promise<Record<string, number>> {
  const env = await loadMasksetEnv();
  const plan = compileMaskset(env.store.load('default'), env);
  const units: HandlerUnit[] = [...plan.tracepoints.values()].filter((t) => t.enabled).map((t) => ({ handler: 'record', format: readLiveFormat(t.system, t.event) }));
  const t0 = performance.now();
  const object = compiledObject(handlerProgram(units, programOptions()).source, detectBpf().tools);
  const compileMs = performance.now() - t0;
  const attach: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-att-'));
    const run = new BpfRun(object, dir);
    try {
      const t1 = performance.now();
      await run.started();
      attach.push(performance.now() - t1);
      await run.finish();
    } finally {
      run.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { defaultTracepoints: units.length, compileMsFirst: Math.round(compileMs), attachMs: Math.round(median(attach)) };
}

async function storm(): Promise<Record<string, number>> {
  const units: HandlerUnit[] = ['sys_enter', 'sys_exit'].map((e) => ({ handler: 'record', format: readLiveFormat('raw_syscalls', e) }));
  const copies = 4 * COPIES;
  const r = await withRun(units, async () => {
    const t0 = performance.now();
    const dds = [0, 1].map(() => spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${copies}`], { stdio: 'ignore' }));
    await Promise.all(dds.map((d) => once(d, 'exit')));
    return performance.now() - t0;
  });
  const ms = r.value;
  return { stormEvents: r.written + r.lost, stormEventsPerSec: Math.round(((r.written + r.lost) / ms) * 1000), stormLost: r.lost };
}

const bpf = detectBpf();
if (bpf.unavailable) {
  process.stderr.write(`bench/bpf: skipped, the BPF engine is unavailable: ${bpf.unavailable.why}\n`);
} else {
  const figures = { runs: RUNS, copies: COPIES, ...(await perEventCost()), ...(await switchWindows()), ...(await attachDefault()), ...(await storm()) };
  process.stdout.write(`${Object.entries(figures).map(([k, v]) => `${k.padEnd(28)} ${v}`).join('\n')}\n`);
  if (process.env['LKST_BENCH_JSON']) writeFileSync(process.env['LKST_BENCH_JSON'], JSON.stringify(figures, null, 2));
}
