/**
 * The table of handlers on BPF a recording loads: the recorded maskset's entries on BPF (index 0)
 * and those of every maskset a BPF `switch to=` can reach (indexes 1...), each entry tagged with its
 * maskset's index and each switch's target turned into an index. One object holds them all, so a
 * switch is one write of the index in force.
 */
import { LkstError } from '../base/errors.js';
import { registeredSource, USER_SWITCHES } from '../bpf/user-handlers.js';
import { compileMaskset, type CompileEnv } from './compile.js';
import type { BpfPlanEntry, KernelPlan } from './plan.js';
import type { Maskset } from './model.js';

export interface BpfTableEntry extends BpfPlanEntry {
  readonly maskset: number;
}

export interface BpfTable {
  readonly entries: readonly BpfTableEntry[];
  /** Masksets by index. */
  readonly masksets: readonly string[];
}

export function bpfTable(plan: KernelPlan, env: CompileEnv): BpfTable {
  const masksets = [plan.maskset];
  const entries: BpfTableEntry[] = [];
  const pending: { plan: KernelPlan; index: number }[] = [{ plan, index: 0 }];
  /** The index of a maskset a switch on BPF reaches, its entries queued when it is new. */
  const reach = (e: BpfPlanEntry, name: string): number => {
    let to = masksets.indexOf(name);
    if (to >= 0) return to;
    const target = compileMaskset(env.loadMaskset(name), env);
    const ftrace = [...target.tracepoints.values()].find((t) => t.enabled || t.triggers.length);
    if (ftrace) throw new LkstError(`${e.from}: a switch on BPF changes only handlers on BPF, and maskset ${name} has ftrace entries (${ftrace.from[0]})`, `give ${name} only handlers on BPF (engine=bpf, count), or switch with engine=ftrace`);
    to = masksets.push(name) - 1;
    pending.push({ plan: target, index: to });
    return to;
  };
  while (pending.length) {
    const { plan: p, index } = pending.shift()!;
    for (const e of p.bpf ?? []) {
      if (e.handler === 'switch') entries.push({ ...e, params: { to: reach(e, String(e.params['to'])) }, maskset: index });
      else if (e.handler === 'user') entries.push({ ...e, params: { ...e.params, [USER_SWITCHES]: JSON.stringify(userSwitches(e, reach)) }, maskset: index });
      else entries.push({ ...e, maskset: index });
    }
  }
  return { entries, masksets };
}

/** A BPF C handler's lkst_switch targets (C names; a maskset's '-' written '_') as table indexes. */
function userSwitches(e: BpfPlanEntry, reach: (e: BpfPlanEntry, name: string) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of registeredSource(String(e.params['name'])).uses.switches) {
    const names = [...new Set([c, c.replace(/_/g, '-')])];
    const name = names.find((n) => {
      try {
        reach(e, n);
        return true;
      } catch (err) {
        if (err instanceof LkstError && /^no maskset/.test(err.what)) return false;
        throw err;
      }
    });
    if (!name) throw new LkstError(`${e.from}: lkst_switch(c, ${c}) in handler ${String(e.params['name'])} names no maskset (${names.join(' or ')})`, '`lkst maskset list` shows the masksets; write a - in the name as _');
    out[c] = reach(e, name);
  }
  return out;
}

/**
 * A maskset for a kernel without the BPF engine: `record engine=bpf` entries record on ftrace
 * instead (the same events, in the instance's buffer); handlers that exist only on BPF (count,
 * switch engine=bpf) are refused, naming the first and why BPF is unavailable.
 */
export function withoutBpf(m: Maskset, plan: KernelPlan, why: { why: string; fix: string }): { maskset: Maskset; moved: number } {
  const onlyBpf = plan.bpf?.find((e) => e.handler !== 'record');
  // record, pid and filter with engine=bpf have the same meaning on ftrace.
  if (onlyBpf) throw new LkstError(`${onlyBpf.from}: ${onlyBpf.handler} runs only on BPF, which is unavailable here (${why.why})`, why.fix);
  return recordsOnFtrace(m);
}

/** The maskset with its record, pid and filter entries of engine=bpf on ftrace (the same events into the instance's buffer). */
export function recordsOnFtrace(m: Maskset): { maskset: Maskset; moved: number } {
  let moved = 0;
  const entries = m.entries.map((e) => {
    if (!['record', 'pid', 'filter'].includes(e.handler) || e.params['engine'] !== 'bpf') return e;
    moved++;
    const { engine: _, ...params } = e.params;
    return { ...e, params };
  });
  return { maskset: { ...m, entries }, moved };
}
