import { LkstError } from '../../base/errors.js';
import { runChild, lastLines } from '../child.js';
import { nativeHelper } from '../native.js';
import type { Workload, WorkloadSample } from '../workload.js';

/**
 * A tight loop of getppid() in a small C program: the cheapest syscall, so the time added under
 * tracing is almost all the cost of the sys_enter/sys_exit events.
 */
export function syscallWorkload(opts: { calls?: number } = {}): Workload {
  const calls = opts.calls ?? 2_000_000;
  let bin = '';
  return {
    name: 'syscall',
    description: `${calls.toLocaleString('en-US')} getppid() calls in a C loop`,
    metrics: [{ key: 'nsPerCall', label: 'time per syscall', unit: 'ns', higherIsBetter: false }],
    async prepare() {
      bin = nativeHelper('syscall-loop');
    },
    async run(signal): Promise<WorkloadSample> {
      const r = await runChild(bin, [String(calls)], { signal, what: 'the syscall loop' });
      const ns = Number(r.stdout.trim());
      if (r.code !== 0 || !Number.isFinite(ns)) throw new LkstError(`the syscall loop failed (${r.code}): ${lastLines(r.stderr)}`, 'check that cc builds working programs here');
      return { metrics: { nsPerCall: ns / calls }, durationMs: ns / 1e6, operations: calls };
    },
    async cleanup() {},
  };
}
