import type { MachineInfo } from './machine.js';
import type { BenchSample } from './runner.js';
import { overheadPercent, summarize, withinNoise, median, type Summary } from './stats.js';
import type { MetricSpec, Workload } from './workload.js';
import type { Condition } from './conditions.js';
import type { SelfFilterCost } from './self-filter-cost.js';

export interface ConditionResult {
  condition: string;
  kind: Condition['kind'];
  maskset?: string;
  tracepoints: number;
  metrics: Record<string, Summary>;
  /** Percent slower than no tracing, per metric (negative: faster, i.e. noise). */
  overheadPercent: Record<string, number>;
  /** The headline metric is within the noise of no tracing. */
  withinNoise: boolean;
  events: Summary;
  lost: Summary;
  /** Events recorded per second of workload. */
  eventsPerSec: number;
  /** (time under tracing − time without) / events the kernel generated (recorded + lost); not for fixed-time workloads. */
  nsPerEvent?: number;
  /** The recorder's CPU time (trace-cmd: its process tree; lkst: its recorder). */
  recorderCpuMs?: Summary;
  /** lkst: percent of the recorded events its own tasks made in task context (median of the runs). */
  selfPercent?: number;
  /** lkst recorded its own events too (the comparison for what leaving them out costs). */
  selfKept?: boolean;
}

export interface WorkloadResult {
  workload: string;
  description: string;
  metrics: MetricSpec[];
  conditions: ConditionResult[];
}

export interface BenchReport {
  tool: 'lkst bench';
  version: 1;
  machine: MachineInfo;
  startedAt: string;
  elapsedSec: number;
  settings: { runs: number; warmup: boolean; bufferKbPerCpu: number; conditions: string[] };
  results: WorkloadResult[];
  /** What leaving lkst's own events out costs per recorded event (with the default maskset in the bench). */
  selfFilter?: SelfFilterCost;
  samples: BenchSample[];
}

export function buildReport(args: {
  machine: MachineInfo;
  startedAt: Date;
  elapsedSec: number;
  runs: number;
  warmup: boolean;
  bufferKbPerCpu: number;
  workloads: Workload[];
  conditions: Condition[];
  samples: BenchSample[];
  selfFilter?: SelfFilterCost;
}): BenchReport {
  const results = args.workloads.map((w): WorkloadResult => {
    const of = (c: string) => args.samples.filter((s) => s.workload === w.name && s.condition === c && !s.invalid);
    const base = of('none');
    const baseSum = Object.fromEntries(w.metrics.map((m) => [m.key, summarize(base.map((s) => s.metrics[m.key]!))]));
    const baseMs = median(base.map((s) => s.durationMs));
    const primary = w.metrics[0]!;
    return {
      workload: w.name,
      description: w.description,
      metrics: w.metrics,
      conditions: args.conditions.map((c): ConditionResult => {
        const mine = of(c.name);
        const metrics = Object.fromEntries(w.metrics.map((m) => [m.key, summarize(mine.map((s) => s.metrics[m.key]!))]));
        const over = Object.fromEntries(w.metrics.map((m) => [m.key, overheadPercent(metrics[m.key]!.median, baseSum[m.key]?.median ?? NaN, m.higherIsBetter)]));
        const events = summarize(mine.map((s) => s.events));
        const lost = summarize(mine.map((s) => s.lost));
        const ms = median(mine.map((s) => s.durationMs));
        const generated = median(mine.map((s) => s.events + s.lost));
        const out: ConditionResult = {
          condition: c.name,
          kind: c.kind,
          ...(c.maskset ? { maskset: c.maskset } : {}),
          tracepoints: c.tracepoints,
          metrics,
          overheadPercent: over,
          withinNoise: c.kind === 'none' || (base.length > 0 && withinNoise(metrics[primary.key]!, baseSum[primary.key]!)),
          events,
          lost,
          eventsPerSec: ms > 0 ? events.median / (ms / 1000) : NaN,
        };
        if (!w.fixedDuration && c.kind !== 'none' && generated > 0 && Number.isFinite(baseMs)) out.nsPerEvent = ((ms - baseMs) * 1e6) / generated;
        const cpu = mine.map((s) => s.recorderCpuMs).filter((v): v is number => v !== undefined);
        if (cpu.length) out.recorderCpuMs = summarize(cpu);
        const self = mine.filter((s) => s.selfEvents !== undefined && s.events > 0).map((s) => (100 * s.selfEvents!) / s.events);
        if (self.length) out.selfPercent = median(self);
        if (c.selfKept) out.selfKept = true;
        return out;
      }),
    };
  });
  return {
    tool: 'lkst bench',
    version: 1,
    machine: args.machine,
    startedAt: args.startedAt.toISOString(),
    elapsedSec: args.elapsedSec,
    settings: { runs: args.runs, warmup: args.warmup, bufferKbPerCpu: args.bufferKbPerCpu, conditions: args.conditions.map((c) => c.name) },
    results,
    ...(args.selfFilter ? { selfFilter: args.selfFilter } : {}),
    samples: args.samples,
  };
}
