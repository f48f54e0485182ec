import { Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { leaveOutFilter, ownThreads } from '../record/self-filter.js';
import { nativeHelper } from './native.js';
import { spawnMeasured } from './measured-process.js';

/** What the filter that leaves lkst's own events out adds to each event the kernel records. */
export interface SelfFilterCost {
  /** Nanoseconds per event: the least CPU time per getppid() with the filter minus the least without, per its two events. */
  nsPerEvent: number;
  /** Tasks in the filter (this process's threads and one for the page mover), as a recording has them. */
  tasks: number;
  /** Least CPU time per getppid(), without and with the filter, in ns. */
  nsPerCallWithout: number;
  nsPerCallWith: number;
  rounds: number;
}

const CALLS = 500_000;
const ROUNDS = 7;

/**
 * Alternates a getppid() loop under raw_syscalls sys_enter and sys_exit, with and without the
 * filter, in an overwriting buffer of its own (no reader). The loop's CPU time (the events are
 * written in its syscalls), least of each: time spent waiting for a CPU does not count, and other
 * load (which only slows runs down) weighs as little as it can.
 */
export async function measureSelfFilterCost(signal?: AbortSignal): Promise<SelfFilterCost> {
  const bin = nativeHelper('syscall-loop');
  const tasks = ownThreads().length + 1;
  // 0 stands in for the page mover's pid: the same length of filter as a recording's.
  const filter = leaveOutFilter([...ownThreads(), 0]);
  const inst = Instance.createOwned('selfcost');
  const best = { without: Infinity, with: Infinity };
  try {
    inst.overwrite = true;
    for (const event of ['sys_enter', 'sys_exit']) inst.setEventEnabled('raw_syscalls', event, true);
    inst.tracingOn = true;
    for (let round = 0; round < ROUNDS; round++) {
      for (const on of [false, true]) {
        for (const event of ['sys_enter', 'sys_exit']) inst.setFilter('raw_syscalls', event, on ? filter : undefined);
        if (signal?.aborted) throw new LkstError('interrupted', 'the kernel was left clean; run again to measure', 130);
        const r = await spawnMeasured(bin, [String(CALLS)]).exited;
        if (r.exitCode !== 0) throw new LkstError(`the syscall loop failed (${r.exitCode})`, 'check that cc builds working programs here');
        const key = on ? 'with' : 'without';
        best[key] = Math.min(best[key], (r.cpuUs * 1000) / CALLS);
      }
    }
  } finally {
    inst.tracingOn = false;
    inst.remove();
  }
  return { nsPerEvent: (best.with - best.without) / 2, tasks, nsPerCallWithout: best.without, nsPerCallWith: best.with, rounds: ROUNDS };
}
