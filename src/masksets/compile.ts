import { LkstError } from '../base/errors.js';
import { resolveEventSet, splitTracepointId } from '../events/resolve.js';
import { isProbeSpec } from '../probes/spec.js';
import { lkstEventsOfTracepoint } from '../events/catalog.js';
import { checkParams, ParamError } from '../handlers/params.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { pidFilter } from '../handlers/builtin.js';
import type { HandlerContext, KernelOp } from '../handlers/types.js';
import type { Maskset, MasksetEntry } from './model.js';
import { andFilters, orFilters, type BpfPlanEntry, type KernelPlan, type MissingEvent, type TracepointPlan, type TriggerPlan } from './plan.js';

/** Everything compiling needs besides the maskset: the kernel's events, the handlers, other masksets. */
export interface CompileEnv {
  readonly available: ReadonlySet<string>;
  readonly handlers: HandlerRegistry;
  loadMaskset(name: string): Maskset;
}

/** One entry's wish for one tracepoint. */
interface Contribution {
  readonly tp: string;
  readonly from: string;
  readonly enable: boolean;
  readonly filters: string[];
  readonly pids?: { pids: readonly number[]; follow: boolean };
  readonly triggers: TriggerPlan[];
}

interface Staged {
  readonly tp: string;
  readonly filter: string;
  readonly from: string;
}

const samePids = (a: { pids: readonly number[]; follow: boolean }, b: { pids: readonly number[]; follow: boolean }): boolean =>
  a.follow === b.follow && [...a.pids].sort().join(',') === [...b.pids].sort().join(',');

/** The tracepoints behind an entry's event, or why this kernel has none. */
function targets(entry: MasksetEntry, available: ReadonlySet<string>): { tps: { id: string; narrow?: string }[] } | { missing: string } {
  try {
    const sel = resolveEventSet([entry.event], available);
    if (!sel.tracepoints.length) return { missing: sel.unavailable.map((u) => `${u.name}: ${u.reason}`).join('; ') || 'no tracepoint on this kernel' };
    return { tps: sel.tracepoints.map((t) => ({ id: t.id, ...(t.filter ? { narrow: t.filter } : {}) })) };
  } catch (err) {
    // A SYSTEM:EVENT the kernel lacks may exist on another kernel: missing, not malformed; unless
    // the catalog does not know it and it is a near miss of one this kernel has (a misspelling).
    if (err instanceof LkstError && /^[\w-]+:[\w-]+$/.test(entry.event)) {
      if (lkstEventsOfTracepoint(entry.event).length || !err.fix.startsWith('did you mean')) return { missing: err.message };
    }
    if (err instanceof LkstError) throw new LkstError(`${entry.where}: ${err.what}`, err.fix);
    throw err;
  }
}

/**
 * Compiles a maskset into per-tracepoint kernel settings. Errors name the maskset file and line:
 * unknown event, unknown handler, bad parameter, or operations the kernel cannot combine.
 */
export function compileMaskset(m: Maskset, env: CompileEnv, nested = false): KernelPlan {
  const contributions: Contribution[] = [];
  const staged: Staged[] = [];
  const missing: MissingEvent[] = [];
  const bpf: BpfPlanEntry[] = [];
  const fail = (entry: MasksetEntry, msg: string, fix: string): never => {
    throw new LkstError(`${entry.where}: ${msg}`, fix);
  };

  for (const entry of m.entries) {
    // record and stream make a maskset's probes before compiling it; an armed trace outlives lkst.
    if (isProbeSpec(entry.event)) fail(entry, `${entry.event.split(' ')[0]} is a probe, made only for a recording`, 'record it with `lkst record -m` or `lkst stream -m`');
    const def = env.handlers.get(entry.handler);
    if (!def) fail(entry, `unknown handler '${entry.handler}'`, `use one of ${env.handlers.list().map((h) => h.def.name).join(', ')}`);
    let params;
    try {
      params = checkParams(entry.handler, def!.params, entry.params);
    } catch (err) {
      if (err instanceof ParamError) fail(entry, err.message, `see \`lkst handler list\` for ${entry.handler}'s parameters`);
      throw err;
    }
    const t = targets(entry, env.available);
    if ('missing' in t) {
      missing.push({ event: entry.event, where: entry.where, reason: t.missing, ...(entry.ifPresent ? { optional: true } : {}) });
      continue;
    }
    const ctx: HandlerContext = {
      event: entry.event,
      tracepoints: t.tps.map((x) => x.id),
      params: params!,
      maskset: m.name,
      recordedBy: (name) => (nested ? new Map() : name === m.name ? recordedBy(m, env, false) : recordedBy(env.loadMaskset(name), env)),
    };
    let ops: KernelOp[];
    try {
      ops = def!.apply(ctx);
    } catch (err) {
      if (err instanceof LkstError) return fail(entry, err.what, err.fix);
      return fail(entry, `${entry.handler}: ${(err as Error).message}`, 'fix the entry');
    }
    const from = `${entry.where} ${entry.event} ${entry.handler}`;
    for (const { id, narrow } of t.tps) {
      const c: Contribution = { tp: id, from, enable: false, filters: narrow ? [narrow] : [], triggers: [] };
      let enable = false;
      let pids: Contribution['pids'];
      for (const op of ops) {
        switch (op.kind) {
          case 'enable':
            enable = true;
            break;
          case 'filter':
            c.filters.push(op.expr);
            break;
          case 'pids':
            pids = { pids: op.pids, follow: op.follow };
            break;
          case 'trigger': {
            // A trigger on a tracepoint shared by several LKST events fires only for this one's.
            const condition = andFilters([narrow ?? '', op.condition ?? '']);
            c.triggers.push({ command: op.command, ...(op.count ? { count: op.count } : {}), ...(condition ? { condition } : {}), ...(op.instance ? { instance: op.instance } : {}) });
            break;
          }
          case 'prepare':
            staged.push({ tp: op.tracepoint, filter: op.filter ?? '', from });
            break;
          case 'bpf':
            // A BPF program sees every firing of its tracepoint: an LKST event that is a part of one has no BPF form yet.
            if (narrow) fail(entry, `${entry.handler} on BPF needs a whole tracepoint, and ${entry.event} is the part of ${id} where ${narrow}`, `name the tracepoint (${id}) instead`);
            bpf.push({ tp: id, handler: op.handler, params: op.params, from });
            break;
          default:
            fail(entry, `handler ${entry.handler} asks for an operation this lkst cannot apply (${(op as { kind: string }).kind})`, 'update lkst or the handler');
        }
      }
      contributions.push({ ...c, enable, ...(pids ? { pids } : {}) });
    }
  }

  // set_event_pid is one set per instance and no trigger can change it: use it only when every
  // recorded event wants the same pids and nothing switches in the kernel; otherwise filter on common_pid.
  const recorded = contributions.filter((c) => c.enable);
  const first = recorded[0]?.pids;
  const inKernelSwitch = staged.length > 0 || contributions.some((c) => c.triggers.some((t) => /^(enable|disable)_event:/.test(t.command)));
  const instancePids = !nested && !inKernelSwitch && first && recorded.every((c) => c.pids && samePids(c.pids, first)) ? first : undefined;
  if (!instancePids) {
    const follower = contributions.find((c) => c.pids?.follow);
    if (follower) {
      throw new LkstError(
        `${follower.from}: follow=true needs every recorded event of the maskset on the same pids (the kernel keeps one pid set per buffer)${inKernelSwitch ? ' and no in-kernel switch' : ''}`,
        'give every entry the same pid handler, or record the process in its own buffer',
      );
    }
  }

  const byTp = new Map<string, Contribution[]>();
  for (const c of contributions) byTp.set(c.tp, [...(byTp.get(c.tp) ?? []), c]);
  const tracepoints = new Map<string, TracepointPlan>();
  for (const [id, cs] of byTp) {
    const on = cs.filter((c) => c.enable);
    const filter = orFilters(on.map((c) => andFilters([...c.filters, !instancePids && c.pids ? pidFilter(id, c.pids.pids) : ''])));
    tracepoints.set(id, { id, ...splitTracepointId(id), enabled: on.length > 0, filter: on.length ? filter : '', triggers: mergeTriggers(id, cs), from: cs.map((c) => c.from) });
  }
  for (const s of staged) {
    const have = tracepoints.get(s.tp);
    if (have?.enabled) continue; // the switch handler checked it records with the same filter
    if (have?.filter && have.filter !== s.filter) throw new LkstError(`${s.from}: ${s.tp} is prepared for two switches with different filters`, 'give it one filter in every switched-to maskset');
    tracepoints.set(s.tp, { id: s.tp, ...splitTracepointId(s.tp), enabled: false, filter: s.filter, triggers: have?.triggers ?? [], from: [...(have?.from ?? []), s.from] });
  }
  return { maskset: m.name, tracepoints, ...(instancePids ? { pids: { pids: instancePids.pids, follow: instancePids.follow } } : {}), missing, ...(bpf.length ? { bpf } : {}) };
}

/** Triggers of one command on one event in one instance merge into one (the kernel allows one each): conditions OR. */
function mergeTriggers(tp: string, cs: readonly Contribution[]): TriggerPlan[] {
  const byCmd = new Map<string, { t: TriggerPlan; from: string; conditions: string[] }>();
  for (const c of cs) {
    for (const t of c.triggers) {
      const key = `${t.instance ?? ''} ${t.command}`;
      const have = byCmd.get(key);
      if (!have) {
        byCmd.set(key, { t, from: c.from, conditions: [t.condition ?? ''] });
        continue;
      }
      const where = t.instance ? ` in ${t.instance}` : '';
      if ((have.t.count ?? 0) !== (t.count ?? 0)) throw new LkstError(`${c.from}: ${t.command}${where} on ${tp} is also set by ${have.from} with another count`, 'give both the same count');
      have.conditions.push(t.condition ?? '');
    }
  }
  return [...byCmd.values()].map(({ t, conditions }) => {
    const condition = orFilters(conditions);
    return { command: t.command, ...(t.count ? { count: t.count } : {}), ...(condition ? { condition } : {}), ...(t.instance ? { instance: t.instance } : {}) };
  });
}

/**
 * What a maskset records, per tracepoint with its filter, with pids as filters: the part of a
 * maskset a kernel trigger can switch to. Masksets with triggers of their own cannot be reached
 * from inside the kernel (their triggers would have to be armed, and fire, before the switch).
 */
export function recordedBy(m: Maskset, env: CompileEnv, asTarget = true): Map<string, string> {
  const plan = compileMaskset(m, env, true);
  const out = new Map<string, string>();
  for (const tp of plan.tracepoints.values()) {
    if (asTarget && tp.triggers.length) {
      throw new LkstError(`maskset ${m.name} sets triggers on ${tp.id} (${tp.from[0]})`, 'a kernel switch can only turn events on and off; switch to it with `lkst maskset switch`');
    }
    if (tp.enabled) out.set(tp.id, tp.filter);
  }
  const refused = plan.missing.filter((x) => !x.optional);
  if (asTarget && refused.length) throw new LkstError(`maskset ${m.name} names events this kernel lacks (${refused.map((x) => x.event).join(', ')})`, 'remove them before switching to it from inside the kernel');
  return out;
}
