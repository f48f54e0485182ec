import { LkstError } from '../base/errors.js';
import type { ActiveCondition, Condition, ConditionStats } from './conditions.js';
import type { Workload, WorkloadSample } from './workload.js';

export interface BenchSample extends WorkloadSample, ConditionStats {
  workload: string;
  condition: string;
  /** Why the figures are left out of the statistics (measured twice, untrustworthy both times). */
  invalid?: string;
  /** 0 for the warm-up round (not in the statistics). */
  run: number;
}

export interface RunnerProgress {
  workload: string;
  condition: string;
  run: number;
  runs: number;
  step: number;
  steps: number;
  sample?: BenchSample;
  phase: 'prepare' | 'run' | 'done';
}

export interface RunnerOptions {
  runs: number;
  warmup: boolean;
  signal?: AbortSignal;
  onProgress?: (p: RunnerProgress) => void;
  /** Pause between steps, so one condition's teardown (writeback, freed buffers) settles before the next. */
  settleMs?: number;
}

/**
 * Runs each workload under every condition, interleaved (A B C A B C ...) so slow drift of the
 * machine spreads over all conditions, after one warm-up round that is not counted.
 */
export async function runInterleaved(workloads: Workload[], conditions: Condition[], opts: RunnerOptions): Promise<BenchSample[]> {
  const samples: BenchSample[] = [];
  const rounds = opts.runs + (opts.warmup ? 1 : 0);
  const steps = workloads.length * rounds * conditions.length;
  let step = 0;
  const check = () => {
    if (opts.signal?.aborted) throw new LkstError('interrupted', 'the kernel was left clean; run again to measure', 130);
  };
  for (const w of workloads) {
    check();
    opts.onProgress?.({ workload: w.name, condition: '', run: 0, runs: opts.runs, step, steps, phase: 'prepare' });
    try {
      await w.prepare(opts.signal ?? new AbortController().signal);
      for (let round = 0; round < rounds; round++) {
        const run = opts.warmup ? round : round + 1;
        for (const c of conditions) {
          check();
          step++;
          opts.onProgress?.({ workload: w.name, condition: c.name, run, runs: opts.runs, step, steps, phase: 'run' });
          const s = await runOnce(w, c, run, opts.signal);
          if (run > 0) samples.push(s);
          opts.onProgress?.({ workload: w.name, condition: c.name, run, runs: opts.runs, step, steps, sample: s, phase: 'done' });
          if (opts.settleMs) await new Promise((r) => setTimeout(r, opts.settleMs));
        }
      }
    } finally {
      await w.cleanup();
    }
  }
  return samples;
}

/** One measurement; measured again once if the condition finds it untrustworthy. */
async function runOnce(w: Workload, c: Condition, run: number, signal: AbortSignal | undefined): Promise<BenchSample> {
  const first = await measure(w, c, run, signal);
  if (!first.invalid) return first;
  const second = await measure(w, c, run, signal);
  return second;
}

async function measure(w: Workload, c: Condition, run: number, signal: AbortSignal | undefined): Promise<BenchSample> {
  const active: ActiveCondition = await c.start();
  let result: WorkloadSample;
  try {
    result = await w.run(signal ?? new AbortController().signal);
  } catch (err) {
    await active.abort();
    throw err;
  }
  const stats = await active.stop();
  const invalid = c.check?.(stats);
  return { workload: w.name, condition: c.name, run, ...result, ...stats, ...(invalid ? { invalid } : {}) };
}
