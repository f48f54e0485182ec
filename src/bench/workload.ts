/** A measured metric of a workload. */
export interface MetricSpec {
  key: string;
  label: string;
  unit: string;
  /** Throughput-like (requests/s): higher is better. Time-like: lower is better. */
  higherIsBetter: boolean;
}

export interface WorkloadSample {
  /** Values by MetricSpec.key; the first spec is the workload's headline figure. */
  metrics: Record<string, number>;
  /** Wall time of the measured part, in ms (events/s is computed over it). */
  durationMs: number;
  /** Operations done, for workloads that count them (syscalls), so cost per event can be derived. */
  operations?: number;
}

/** Something to measure under each condition: prepared once, then run many times. */
export interface Workload {
  readonly name: string;
  readonly description: string;
  readonly metrics: MetricSpec[];
  /** Runs for a fixed time (web): its duration says nothing of the tracing cost. */
  readonly fixedDuration?: boolean;
  /** Unpacks, compiles, starts servers; not measured. */
  prepare(signal: AbortSignal): Promise<void>;
  run(signal: AbortSignal): Promise<WorkloadSample>;
  /** Stops what prepare started; safe to call twice. */
  cleanup(): Promise<void>;
}

export const WORKLOAD_NAMES = ['syscall', 'build', 'web'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];
