import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LkstError } from '../base/errors.js';
import { lkstCondition, masksetPlan, noTracing, traceCmdCondition, type Condition } from './conditions.js';
import { machineInfo } from './machine.js';
import { buildReport, type BenchReport } from './report.js';
import { runInterleaved, type RunnerProgress } from './runner.js';
import { traceCmdRecorder } from './trace-cmd.js';
import { WORKLOAD_NAMES, type Workload, type WorkloadName } from './workload.js';
import { buildWorkload } from './workloads/build.js';
import { syscallWorkload } from './workloads/syscall.js';
import { webWorkload } from './workloads/web.js';
import { measureSelfFilterCost } from './self-filter-cost.js';

export interface BenchOptions {
  workloads: WorkloadName[];
  masksets: string[];
  runs: number;
  warmup?: boolean;
  compareTraceCmd?: boolean;
  bufferKbPerCpu?: number;
  /** Scale of each workload (smaller for a quick check). */
  syscallCalls?: number;
  buildObjects?: number;
  webSeconds?: number;
  workDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: RunnerProgress) => void;
}

export const DEFAULT_MASKSETS = ['off', 'default', 'all'];
const SELF_KEPT_MASKSET = 'default';
/** trace-cmd's own default buffer size, so both tools get the same. */
export const DEFAULT_BUFFER_KB = 1408;

export function parseWorkloads(spec: string): WorkloadName[] {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return [...WORKLOAD_NAMES];
  for (const n of names) if (!(WORKLOAD_NAMES as readonly string[]).includes(n)) throw new LkstError(`unknown workload '${n}'`, `choose from ${WORKLOAD_NAMES.join(', ')} or all`);
  if (!names.length) throw new LkstError('no workload given', `choose from ${WORKLOAD_NAMES.join(', ')} or all`);
  return names as WorkloadName[];
}

function makeWorkload(name: WorkloadName, o: BenchOptions): Workload {
  switch (name) {
    case 'syscall':
      return syscallWorkload({ calls: o.syscallCalls });
    case 'build':
      return buildWorkload({ objects: o.buildObjects });
    case 'web':
      return webWorkload({ seconds: o.webSeconds });
  }
}

/** The conditions to compare: no tracing, each maskset, and trace-cmd on each maskset that records something. */
export async function makeConditions(o: BenchOptions, workDir: string): Promise<Condition[]> {
  const settings = { bufferKbPerCpu: o.bufferKbPerCpu ?? DEFAULT_BUFFER_KB, workDir };
  const conditions: Condition[] = [noTracing()];
  const tc: Condition[] = [];
  if (o.compareTraceCmd) {
    try {
      traceCmdRecorder();
    } catch (err) {
      if (err instanceof LkstError) throw new LkstError(`--compare trace-cmd: ${err.what}`, err.fix);
      throw err;
    }
  }
  for (const name of o.masksets) {
    const plan = await masksetPlan(name);
    conditions.push(lkstCondition(name, plan, settings));
    // What leaving lkst's own events out costs, and what it leaves out: the default maskset once more without it.
    if (name === SELF_KEPT_MASKSET) conditions.push(lkstCondition(name, plan, settings, true));
    if (o.compareTraceCmd && [...plan.tracepoints.values()].some((t) => t.enabled)) tc.push(traceCmdCondition(name, plan, settings));
  }
  return [...conditions, ...tc];
}

/** Measures every workload under every condition and summarizes. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new LkstError(`bad --runs ${o.runs}`, 'give a whole number of at least 1');
  const workDir = o.workDir ?? tmpdir();
  mkdirSync(workDir, { recursive: true });
  const conditions = await makeConditions(o, workDir);
  const workloads = o.workloads.map((n) => makeWorkload(n, o));
  const started = new Date();
  const t0 = performance.now();
  const samples = await runInterleaved(workloads, conditions, { runs: o.runs, warmup: o.warmup ?? true, signal: o.signal, onProgress: o.onProgress, settleMs: 300 });
  // The filter's cost per event, measured directly: inside the workloads' noise it would not show.
  const selfFilter = o.masksets.includes(SELF_KEPT_MASKSET) ? await measureSelfFilterCost(o.signal) : undefined;
  return buildReport({
    selfFilter,
    machine: machineInfo(),
    startedAt: started,
    elapsedSec: (performance.now() - t0) / 1000,
    runs: o.runs,
    warmup: o.warmup ?? true,
    bufferKbPerCpu: o.bufferKbPerCpu ?? DEFAULT_BUFFER_KB,
    workloads,
    conditions,
    samples,
  });
}
