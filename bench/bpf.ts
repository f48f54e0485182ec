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
 * - loss at the highest rate driven here: two dd storms at once, BPF record on sys_enter and sys_exit;
 * - loss in a getppid storm on every CPU (a C loop per CPU, no runtime around it), recorded by
 *   `lkst record -m` on the ftrace engine and with `record engine=bpf`: events/s offered, recorded, lost;
 * - the web workload (bench/overhead.ts's: wrk against a Node server) untraced, and while `lkst record -m`
 *   records raw_syscalls:sys_enter on ftrace, on BPF, and counts it on BPF (`count by=pid,id`): requests/s.
 * LKST_BENCH_CASES=perEvent,switch,attach,dd-storm,storm,web runs only those (default: all); each
 * case's figures come with the load average (1 min) before and after it. LKST_BENCH_JSON=FILE writes
 * the figures there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
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
import { nativeHelper } from '../src/bench/native.js';
import { webWorkload } from '../src/bench/workloads/web.js';
import { cliPath } from '../src/base/project-root.js';

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

/** A maskset file in a private config directory, for `lkst record -m`. */
function masksetDir(masksets: Record<string, string>): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-ms-'));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  for (const [name, text] of Object.entries(masksets)) writeFileSync(join(dir, 'etc', 'masksets', `${name}.maskset`), text);
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') } };
}

const LKST = cliPath();
const STORM_CALLS = Number(process.env['LKST_BENCH_STORM_CALLS'] ?? 2_000_000);

/** Events of the storm's tracepoint in a trace and the trace's loss (lkst stats). */
function recordedAndLost(file: string, env: NodeJS.ProcessEnv, event: string): { recorded: number; lost: number } {
  const r = spawnSync(process.execPath, [LKST, 'stats', '--json', file], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`lkst stats: ${r.stderr}`);
  const st = JSON.parse(r.stdout) as { byEvent: { event: string; count: number }[]; lostTotal: number };
  return { recorded: st.byEvent.find((e) => e.event === event)?.count ?? 0, lost: st.lostTotal };
}

/**
 * A getppid loop on every CPU at once, recorded by `lkst record -m` with the record handler on
 * ftrace and on BPF: the rate offered (the loops' calls over the slowest loop's time), and what
 * each engine recorded and lost (exact: lkst stats).
 */
async function getppidStorm(): Promise<Record<string, number>> {
  const loop = nativeHelper('syscall-loop');
  const ncpu = availableParallelism();
  const { dir, env } = masksetDir({ ft: 'syscalls:sys_enter_getppid record\n', bpf: 'syscalls:sys_enter_getppid record engine=bpf\n' });
  const out: Record<string, number[]> = {};
  const push = (k: string, v: number) => (out[k] ??= []).push(v);
  const ns = join(dir, 'ns');
  const script = `for c in $(seq ${ncpu}); do ${loop} ${STORM_CALLS} >> ${ns} & done; wait`;
  /** The loops' calls per second over the slower loop's time (its own clock, set-up not included). */
  const slowestSeconds = () => Math.max(...readFileSync(ns, 'utf8').trim().split('\n').map(Number)) / 1e9;
  try {
    for (let i = 0; i < RUNS; i++) {
      // Untraced: the rate the machine gives the loops at all.
      rmSync(ns, { force: true });
      spawnSync('sh', ['-c', script]);
      push('stormUntracedPerSec', Math.round((ncpu * STORM_CALLS) / slowestSeconds()));
      for (const m of ['ft', 'bpf']) {
        const file = join(dir, `${m}.dat`);
        rmSync(ns, { force: true });
        const r = spawnSync(process.execPath, [LKST, 'record', '-q', '-m', m, '-o', file, '--', 'sh', '-c', script], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
        if (r.status !== 0) throw new Error(`lkst record -m ${m}: ${r.stderr}`);
        const slowest = slowestSeconds();
        const { recorded, lost } = recordedAndLost(file, env, 'syscalls:sys_enter_getppid');
        const name = m === 'ft' ? 'Ftrace' : 'Bpf';
        push(`storm${name}OfferedPerSec`, Math.round((ncpu * STORM_CALLS) / slowest));
        push(`storm${name}RecordedPerSec`, Math.round(recorded / slowest));
        push(`storm${name}Recorded`, recorded);
        push(`storm${name}Lost`, lost);
        rmSync(file, { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { stormCpus: ncpu, stormCallsPerCpu: STORM_CALLS, ...Object.fromEntries(Object.entries(out).map(([k, v]) => [k, median(v)])) };
}

/** Waits for `lkst record -m` of a BPF maskset to have attached its programs (its control FIFO exists). */
async function bpfAttached(env: NodeJS.ProcessEnv, proc: { exitCode: number | null }): Promise<void> {
  const live = join(env['LKST_STATE_DIR']!, 'bpf');
  while (!(existsSync(live) && readdirSync(live).some((d) => existsSync(join(live, d, 'ctl'))))) {
    if (proc.exitCode !== null) throw new Error('lkst record ended before its BPF programs attached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The web workload (wrk against a Node server) untraced and while `lkst record -m` records every
 * raw_syscalls:sys_enter on ftrace, on BPF, or counts them on BPF: requests/s, medians.
 */
async function webCases(): Promise<Record<string, number>> {
  const web = webWorkload({ seconds: Number(process.env['LKST_BENCH_WEB_SECONDS'] ?? 8) });
  const ctl = new AbortController();
  const { dir, env } = masksetDir({
    ft: 'raw_syscalls:sys_enter record\n',
    bpfrec: 'raw_syscalls:sys_enter record engine=bpf\n',
    bpfcount: 'raw_syscalls:sys_enter count by=pid,id\n',
  });
  const rps: Record<string, number[]> = { webUntracedReqPerSec: [], webFtraceRecordReqPerSec: [], webBpfRecordReqPerSec: [], webBpfCountReqPerSec: [] };
  const lost: Record<string, number[]> = { webFtraceRecordLost: [], webBpfRecordLost: [] };
  await web.prepare(ctl.signal);
  try {
    for (let i = 0; i < RUNS; i++) {
      rps['webUntracedReqPerSec']!.push((await web.run(ctl.signal)).metrics['requestsPerSec']!);
      for (const [m, key] of [['ft', 'FtraceRecord'], ['bpfrec', 'BpfRecord'], ['bpfcount', 'BpfCount']] as const) {
        const file = join(dir, `${m}.dat`);
        const proc = spawn(process.execPath, [LKST, 'record', '-q', '-m', m, '-o', file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
        const exited = once(proc, 'exit');
        if (m === 'ft') await waitRecording(proc);
        else await bpfAttached(env, proc);
        rps[`web${key}ReqPerSec`]!.push((await web.run(ctl.signal)).metrics['requestsPerSec']!);
        proc.kill('SIGINT');
        const [code] = await exited;
        if (code !== 0) throw new Error(`lkst record -m ${m}: ${err}`);
        if (m !== 'bpfcount') lost[`web${key}Lost`]!.push(recordedAndLost(file, env, 'raw_syscalls:sys_enter').lost);
        rmSync(file, { force: true });
      }
    }
  } finally {
    await web.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  return Object.fromEntries([...Object.entries(rps), ...Object.entries(lost)].map(([k, v]) => [k, Math.round(median(v))]));
}

/** Waits until `lkst record` (ftrace) has its instance's tracing on. */
async function waitRecording(proc: { pid?: number; exitCode: number | null }): Promise<void> {
  const name = `lkst-${proc.pid}-rec`;
  while (!(Instance.exists(name) && Instance.open(name).tracingOn)) {
    if (proc.exitCode !== null) throw new Error('lkst record ended before it recorded');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const CASES: Record<string, () => Promise<Record<string, number>>> = { perEvent: perEventCost, switch: switchWindows, attach: attachDefault, 'dd-storm': storm, storm: getppidStorm, web: webCases };

/** The asked cases in order, each with the 1-minute load average before and after it. */
async function runCases(): Promise<Record<string, number | string>> {
  const asked = (process.env['LKST_BENCH_CASES'] ?? Object.keys(CASES).join(',')).split(',').map((c) => c.trim()).filter(Boolean);
  const unknown = asked.filter((c) => !CASES[c]);
  if (unknown.length) throw new Error(`LKST_BENCH_CASES: no case ${unknown.join(', ')} (cases: ${Object.keys(CASES).join(', ')})`);
  const out: Record<string, number | string> = { runs: RUNS, copies: COPIES, date: new Date().toISOString() };
  for (const c of asked) {
    const before = loadavg()[0]!;
    Object.assign(out, await CASES[c]!());
    out[`load1_${c}`] = `${before.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`;
  }
  return out;
}

const bpf = detectBpf();
if (bpf.unavailable) {
  process.stderr.write(`bench/bpf: skipped, the BPF engine is unavailable: ${bpf.unavailable.why}\n`);
} else {
  const figures = await runCases();
  process.stdout.write(`${Object.entries(figures).map(([k, v]) => `${k.padEnd(28)} ${v}`).join('\n')}\n`);
  if (process.env['LKST_BENCH_JSON']) writeFileSync(process.env['LKST_BENCH_JSON'], JSON.stringify(figures, null, 2));
}
