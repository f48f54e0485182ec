import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { record, lostEvents, type RecordingResult } from '../record/recorder.js';
import { loadMasksetEnv } from '../masksets/env.js';
import { compileMaskset } from '../masksets/compile.js';
import { applyPlan } from '../masksets/apply.js';
import { planEvents, type KernelPlan } from '../masksets/plan.js';
import { LkstError } from '../base/errors.js';
import { startTraceCmdRecord, type ExternalRecording } from './recorders.js';
import { fileCpuStats } from './trace-cmd.js';
import { pidShare } from '../record/pid-share.js';

/** What a condition saw while a workload ran. */
export interface ConditionStats {
  events: number;
  lost: number;
  /** The recorder's CPU time: trace-cmd's process tree; lkst's recorder in this process (this process does nothing else meanwhile). */
  recorderCpuMs?: number;
  /** Events the recorder's own tasks made in task context (lkst: counted in its page files). */
  selfEvents?: number;
}

export interface ActiveCondition {
  stop(): Promise<ConditionStats>;
  /** Ends it at once, without results (Ctrl-C, errors): the kernel is left as it was. */
  abort(): Promise<void>;
}

/** A way to run a workload: no tracing, lkst with a maskset, trace-cmd with the same events. */
export interface Condition {
  readonly name: string;
  readonly kind: 'none' | 'lkst' | 'trace-cmd';
  readonly maskset?: string;
  /** lkst recording without leaving its own events out (to measure what leaving them out costs). */
  readonly selfKept?: boolean;
  /** Number of tracepoints it enables. */
  readonly tracepoints: number;
  start(): Promise<ActiveCondition>;
  /** Why a run's figures cannot be trusted (e.g. trace-cmd recorded nothing), or undefined. */
  check?(stats: ConditionStats): string | undefined;
}

export interface ConditionSettings {
  bufferKbPerCpu: number;
  workDir: string;
}

export function noTracing(): Condition {
  return {
    name: 'none',
    kind: 'none',
    tracepoints: 0,
    async start() {
      return { stop: async () => ({ events: 0, lost: 0 }), abort: async () => {} };
    },
  };
}

/** Compiles a maskset (built-in or the user's) for this kernel. */
export async function masksetPlan(name: string): Promise<KernelPlan> {
  const env = await loadMasksetEnv();
  return compileMaskset(env.store.load(name), env);
}

/**
 * lkst recording a maskset into its own instance, drained by this process's recorder. selfKept:
 * without the filters that leave the recorder's own events out, to measure them and what they cost.
 */
export function lkstCondition(maskset: string, plan: KernelPlan, s: ConditionSettings, selfKept = false): Condition {
  const enabled = [...plan.tracepoints.values()].filter((t) => t.enabled).length;
  return {
    name: selfKept ? `${maskset}+self` : maskset,
    kind: 'lkst',
    maskset,
    ...(selfKept ? { selfKept } : {}),
    tracepoints: enabled,
    async start() {
      const dir = mkdtempSync(join(s.workDir, 'lkst-'));
      const ctrl = new AbortController();
      let recording!: () => void;
      const started = new Promise<undefined>((r) => (recording = () => r(undefined)));
      const pending = record({
        events: [],
        workDir: dir,
        bufferKbPerCpu: s.bufferKbPerCpu,
        signal: ctrl.signal,
        leaveOutSelf: !selfKept,
        onRecording: recording,
        setup: (inst) => {
          applyPlan(inst, plan, { skipMissing: true });
          return planEvents(plan);
        },
      });
      pending.catch(() => {});
      // The workload starts once the events are on, or not at all when the recorder failed.
      const early = await Promise.race([pending.then(() => new Error('the recorder ended before it recorded'), (e: unknown) => e ?? new Error('recorder failed')), started]);
      if (early) {
        rmSync(dir, { recursive: true, force: true });
        throw early;
      }
      // What is read from the page files is read before they go.
      const settle = async <T>(use: (r: RecordingResult) => T): Promise<T> => {
        ctrl.abort();
        try {
          const r = await pending;
          try {
            return use(r);
          } finally {
            r.discard();
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      };
      return {
        async stop() {
          const { r, selfEvents } = await settle((r) => ({ r, selfEvents: pidShare(r.cpus.map((c) => c.source), r.meta.pageSize, r.ownTasks).inTask }));
          const events = r.captures.reduce((a, c) => a + c.events, 0);
          const lost = r.captures.reduce((a, c, i) => a + lostEvents(c, r.kernelStats[i], r.kernelStatsAtStart[i]), 0);
          return { events, lost, recorderCpuMs: r.cpuTimeUs / 1000, selfEvents };
        },
        async abort() {
          await settle(() => undefined).catch(() => {});
        },
      };
    },
  };
}

/** trace-cmd's arguments for the tracepoints a plan records: -e S:E [-f FILTER]. */
export function traceCmdEventArgs(plan: KernelPlan): string[] {
  const args: string[] = [];
  for (const t of plan.tracepoints.values()) {
    if (!t.enabled) continue;
    args.push('-e', `${t.system}:${t.event}`);
    if (t.filter) args.push('-f', t.filter);
  }
  return args;
}

/** trace-cmd record of the same tracepoints and filters, into its own instance, as its own process. */
export function traceCmdCondition(maskset: string, plan: KernelPlan, s: ConditionSettings): Condition {
  const evArgs = traceCmdEventArgs(plan);
  const first = [...plan.tracepoints.values()].find((t) => t.enabled);
  return {
    name: `trace-cmd:${maskset}`,
    kind: 'trace-cmd',
    maskset,
    tracepoints: evArgs.filter((a) => a === '-e').length,
    check: (stats) => (stats.events + stats.lost === 0 ? 'trace-cmd recorded nothing' : undefined),
    async start() {
      if (!first) throw new LkstError(`maskset ${maskset} records nothing for trace-cmd to compare with`, 'compare a maskset that records events');
      const dir = mkdtempSync(join(s.workDir, 'tc-'));
      let rec: ExternalRecording | undefined;
      const done = () => rmSync(dir, { recursive: true, force: true });
      try {
        rec = await startTraceCmdRecord({ events: [`${first.system}:${first.event}`], rawEventArgs: evArgs, bufferKbPerCpu: s.bufferKbPerCpu, output: join(dir, 'trace.dat') });
      } catch (err) {
        done();
        throw err;
      }
      const r = rec;
      return {
        async stop() {
          try {
            const exit = await r.finish();
            const stats = fileCpuStats(r.output);
            return {
              // Its stats are taken before the final flush: what was still in the buffer was written too.
              events: stats.reduce((a, c) => a + c.readEvents + c.entries, 0),
              lost: stats.reduce((a, c) => a + c.overrun + c.droppedEvents, 0),
              recorderCpuMs: exit.cpuUs / 1000,
            };
          } finally {
            done();
          }
        },
        async abort() {
          r.process.stop('SIGKILL');
          await r.process.exited.catch(() => {});
          r.cleanup();
          done();
        },
      };
    },
  };
}

