import { LkstError } from '../base/errors.js';
import { Instance } from '../tracefs/instance.js';
import { splitTracepointId } from '../events/resolve.js';
import { bufferNameOf } from '../buffers/name.js';
import { readLiveState, type LiveState, type LiveTrigger } from './live-state.js';
import { foreignTriggers, type KernelPlan, type TracepointPlan, type TriggerPlan } from './plan.js';

/**
 * Another instance (a buffer) that a maskset's handlers act on: `switch buffer=` puts a traceon
 * there, `stop buffer=` a traceoff. What that instance should do once the maskset is applied.
 */
export interface TargetPlan {
  readonly inst: Instance;
  /** Its own events, filters and other triggers kept (a switch target gets the maskset's events), with the maskset's triggers. */
  readonly plan: KernelPlan;
  readonly live: LiveState;
  /** Recording moves here when a switch fires: it holds the maskset's events, stopped until then. */
  readonly switchTarget: boolean;
  /** A switch into it is armed by this apply (it was not before): stop it first. */
  readonly arm: boolean;
}

const sameCondition = (a: string | undefined, b: string | undefined): boolean => (a ?? '').replace(/\s+/g, ' ').trim() === (b ?? '').replace(/\s+/g, ' ').trim();

function fromLive(t: LiveTrigger): TriggerPlan {
  return { command: t.command, ...(t.count ? { count: t.count } : {}), ...(t.condition ? { condition: t.condition } : {}) };
}

function firstLine(plan: KernelPlan, tp: string): string {
  return plan.tracepoints.get(tp)?.from[0] ?? plan.maskset;
}

/**
 * The other instances a plan (and the one applied before it) put triggers in, and what each should
 * do. Reads only; refuses a plan that names a buffer that does not exist, or switches into the
 * instance it is applied to, before anything is changed.
 */
export function targetPlans(inst: Instance, plan: KernelPlan, previous?: KernelPlan): TargetPlan[] {
  for (const tp of plan.tracepoints.values()) {
    if (tp.triggers.some((t) => t.instance === inst.name && t.command === 'traceon')) {
      throw new LkstError(`${tp.from[0]}: the maskset already records into ${bufferNameOf(inst.name) ?? inst.name}`, 'switch to another buffer');
    }
  }
  const want = foreignTriggers(plan, inst.name);
  const had = previous ? foreignTriggers(previous, inst.name) : new Map<string, Map<string, TriggerPlan[]>>();
  const out: TargetPlan[] = [];
  for (const name of new Set([...want.keys(), ...had.keys()])) {
    const w = want.get(name) ?? new Map<string, TriggerPlan[]>();
    const h = had.get(name) ?? new Map<string, TriggerPlan[]>();
    if (!Instance.exists(name)) {
      if (!w.size) continue; // gone: nothing of ours left to remove
      const buffer = bufferNameOf(name) ?? name;
      throw new LkstError(`${firstLine(plan, [...w.keys()][0]!)}: no buffer named ${buffer}`, `create it first with \`lkst buffer create ${buffer}\`; nothing was changed`);
    }
    const target = Instance.open(name);
    const switchTarget = [...w.values()].some((ts) => ts.some((t) => t.command === 'traceon'));
    const live = readLiveState(target, [...(switchTarget ? plan.tracepoints.keys() : []), ...w.keys(), ...h.keys()]);
    const tracepoints = new Map<string, TracepointPlan>();
    let arm = false;
    for (const id of new Set([...live.tracepoints.keys(), ...w.keys()])) {
      const l = live.tracepoints.get(id);
      const mine = w.get(id) ?? [];
      const ours = [...mine, ...(h.get(id) ?? [])];
      // Triggers someone else put there stay; ours are replaced by what the plan wants.
      const kept = (l?.triggers ?? []).filter((t) => !ours.some((x) => x.command === t.command)).map(fromLive);
      const triggers = [...kept, ...mine.map(({ instance: _, ...t }) => t)];
      if (mine.some((t) => t.command === 'traceon' && !l?.triggers.some((x) => x.command === 'traceon' && sameCondition(x.condition, t.condition)))) arm = true;
      const m = switchTarget ? plan.tracepoints.get(id) : undefined;
      const enabled = switchTarget ? (m?.enabled ?? false) : (l?.recording ?? false);
      const filter = switchTarget ? (m?.enabled ? m.filter : '') : (l?.filter ?? '');
      tracepoints.set(id, { id, ...splitTracepointId(id), enabled, filter, triggers, from: m?.from ?? [] });
    }
    // A buffer with its own processes keeps them; otherwise a switch target takes the maskset's.
    const pids = switchTarget && plan.pids && !live.pids.length ? plan.pids : { pids: live.pids, follow: live.follow };
    out.push({ inst: target, plan: { maskset: plan.maskset, tracepoints, pids, missing: [] }, live, switchTarget, arm });
  }
  return out;
}

/** Names of the buffers a plan switches into (traceon) and freezes (traceoff), by instance. */
export function planTargets(plan: KernelPlan, instance: string): { switchTo: string[]; stops: string[] } {
  const switchTo: string[] = [];
  const stops: string[] = [];
  for (const [name, byTp] of foreignTriggers(plan, instance)) {
    const cmds = [...byTp.values()].flat().map((t) => t.command);
    if (cmds.includes('traceon')) switchTo.push(name);
    else if (cmds.includes('traceoff')) stops.push(name);
  }
  return { switchTo, stops };
}
