import { Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { availableEvents } from '../events/live.js';
import { resolveEventSet, splitTracepointId } from '../events/resolve.js';
import type { RecordOptions, TracepointRef } from '../record/recorder.js';
import type { MasksetEnv } from '../masksets/env.js';
import type { Maskset, MasksetEntry } from '../masksets/model.js';
import type { BpfTable } from '../masksets/bpf-table.js';
import { checkRunnable, processThreads, type PidSet, type RecordScope } from '../record/scope.js';

/** What `lkst record` records: named events, a maskset, or an armed trace it attaches to. */
export interface RecordPlan {
  describe: string;
  options: Pick<RecordOptions, 'events' | 'setup' | 'attach' | 'scope' | 'companion' | 'clock'>;
  /** Runs when the recording ends (e.g. the trace stops being the switchable one). */
  finish(): void;
}

/** One -e of the command line, with the -f that followed it. */
export interface EventPick {
  name: string;
  filter?: string;
}

/** What a recording is asked for: events or masksets, an armed trace, and whose events (-P, --follow, -F). */
export interface PlanRequest {
  event?: EventPick[];
  maskset?: string[];
  skipMissing?: boolean;
  attach?: boolean;
  pid?: number[];
  follow?: boolean;
  commandOnly?: boolean;
  /** The command after --, if any. */
  command?: string[];
  /** --clock, when given. */
  clock?: string;
  /** Events go to a consumer as they come (lkst stream), not into a trace file. */
  live?: boolean;
}

export async function planRecording(opts: PlanRequest, warn: (s: string) => void): Promise<RecordPlan> {
  // With --attach no probe is made: planWith refuses -e there.
  const probes = await makeProbes(opts.attach ? [] : (opts.event ?? []), warn);
  try {
    const plan = await planWith(opts.attach ? opts : { ...opts, event: probes.picks }, warn);
    return {
      get describe() {
        return plan.describe;
      },
      options: plan.options,
      finish: () => {
        plan.finish();
        probes.remove();
      },
    };
  } catch (err) {
    probes.remove();
    throw err;
  }
}

async function planWith(opts: PlanRequest, warn: (s: string) => void): Promise<RecordPlan> {
  const picks = opts.event ?? [];
  const masksets = opts.maskset ?? [];
  if (opts.attach && (picks.length || masksets.length)) {
    throw new LkstError('--attach excludes -e and -m', 'attach to the armed trace as it is, or record events or masksets of your own');
  }
  const scope = planScope(opts);
  if (opts.attach) return attachPlan();
  const scoped = (p: RecordPlan): RecordPlan => (scope ? { ...p, describe: `${p.describe} of ${scopeText(scope, opts.command)}`, options: { ...p.options, scope } } : p);
  if (picks.length && !masksets.length && !picks.some((p) => p.filter !== undefined)) return scoped(eventsPlan(picks.map((p) => p.name), warn));
  // The maskset modules (handlers, parser, store) load only for a maskset: `-e` alone starts faster.
  const { loadMasksetEnv } = await import('../masksets/env.js');
  const env = await loadMasksetEnv();
  const loaded = (picks.length && !masksets.length ? [] : masksets.length ? masksets : ['default']).map((n) => env.store.load(n));
  return scoped(await masksetPlan(env, combineMasksets(loaded, picks), { skipMissing: opts.skipMissing ?? false, scoped: scope !== undefined, clock: opts.clock, live: opts.live ?? false }, warn));
}

/** Whose events a recording keeps; refuses combinations trace-cmd users could misread. */
export function planScope(opts: PlanRequest): RecordScope | undefined {
  const pids = opts.pid ?? [];
  if (!pids.length && !opts.commandOnly) {
    if (opts.follow) throw new LkstError('--follow follows the processes of -P', 'add -P PID, or use -F to follow a command');
    return undefined;
  }
  if (opts.attach) throw new LkstError('--attach records the armed trace as it is: no -P or -F', 'arm a maskset with a pid handler, or record without --attach');
  if (opts.commandOnly) {
    if (pids.length) throw new LkstError('-F and -P exclude each other', 'record the command (-F) or running processes (-P)');
    const cmd = opts.command?.[0];
    if (!cmd) throw new LkstError('-F records the command after --, and none was given', 'run e.g. `lkst record -F -- make`');
    checkRunnable(cmd);
    return { kind: 'command' };
  }
  for (const p of pids) processThreads(p);
  return { kind: 'pids', processes: [...new Set(pids)], follow: opts.follow ?? false };
}

function scopeText(scope: RecordScope, command: string[] | undefined): string {
  if (scope.kind === 'command') return `${command?.[0]} and its children`;
  return `pid ${scope.processes.join(',')}${scope.follow ? ' and children' : ''}`;
}

/**
 * One table from several -m and the -e added to them. Two masksets giving one event different
 * handlers is refused (which one wins would be a guess); an -e replaces what a maskset says for its event.
 */
export function combineMasksets(masksets: readonly Maskset[], picks: readonly EventPick[]): Maskset {
  const byEvent = new Map<string, { entry: MasksetEntry; from: string }>();
  for (const m of masksets)
    for (const entry of m.entries) {
      const had = byEvent.get(entry.event);
      if (had && !sameHandling(had.entry, entry)) {
        throw new LkstError(
          `masksets ${had.from} and ${m.name} give ${entry.event} different handlers (${handling(had.entry)}; ${handling(entry)})`,
          `record one of them, or make a maskset that includes both and says which handler ${entry.event} gets`,
        );
      }
      if (!had) byEvent.set(entry.event, { entry, from: m.name });
    }
  for (const p of picks) {
    const entry: MasksetEntry =
      p.filter === undefined ? { event: p.name, handler: 'record', params: {}, where: `-e ${p.name}` } : { event: p.name, handler: 'filter', params: { expr: p.filter }, where: '-f' };
    byEvent.delete(p.name);
    byEvent.set(p.name, { entry, from: '-e' });
  }
  const name = [...masksets.map((m) => m.name), ...(picks.length ? ['-e'] : [])].join('+');
  return { name, description: '', includes: [], entries: [...byEvent.values()].map((v) => v.entry), source: 'the command line' };
}

function handling(e: MasksetEntry): string {
  const params = Object.entries(e.params).map(([k, v]) => `${k}=${v}`);
  return [e.handler, ...params].join(' ');
}

function sameHandling(a: MasksetEntry, b: MasksetEntry): boolean {
  return handling(a) === handling(b);
}

/** `-e uprobe:…` / `-e uretprobe:…`: a probe spec and its argument words, in one -e. */
export function isProbeSpec(name: string): boolean {
  return /^u(ret)?probe:/.test(name);
}

/**
 * Makes the probes the picks name (in lkst's own group) and returns the picks with each probe as the
 * system:event it became, and how to remove them (when the recording ends; reset removes a killed
 * recorder's). Probes are global, unlike instances: they must exist before a maskset is compiled.
 */
async function makeProbes(picks: readonly EventPick[], warn: (s: string) => void): Promise<{ picks: EventPick[]; remove: () => void }> {
  if (!picks.some((p) => isProbeSpec(p.name))) return { picks: [...picks], remove: () => {} };
  const { createUprobe, parseUprobe, probeGroup, removeProbeGroup } = await import('../probes/uprobe.js');
  const group = probeGroup();
  const remove = () => {
    try {
      removeProbeGroup(group);
    } catch (err) {
      warn(`could not remove the probes of ${group}: ${(err as Error).message}; \`lkst reset\` removes them`);
    }
  };
  try {
    const out = picks.map((p) => {
      if (!isProbeSpec(p.name)) return p;
      const [name, ...args] = p.name.trim().split(/\s+/);
      const ev = createUprobe(parseUprobe(name!, args), group);
      return { ...p, name: `${ev.system}:${ev.event}` };
    });
    return { picks: out, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

function eventsPlan(names: string[], warn: (s: string) => void): RecordPlan {
  const selection = resolveEventSet(names, availableEvents());
  if (selection.unavailable.length) warn(`no tracepoint on this kernel for ${selection.unavailable.map((u) => u.name).join(', ')} (\`lkst events\` says why)`);
  const events: TracepointRef[] = selection.tracepoints.map((r) => ({ system: r.system, event: r.event, filter: r.filter }));
  if (!events.length) throw new LkstError('none of the requested events exists on this kernel', 'see `lkst events` for what it has');
  return { describe: `${events.length} tracepoints`, options: { events }, finish: () => {} };
}

/**
 * Handlers on BPF stamp their records with the `mono` clock, so the instance beside them uses it too.
 * They see every process: a -P/-F recording (set_event_pid) cannot scope them yet.
 */
async function bpfOptions(env: MasksetEnv, m: Maskset, req: { scoped: boolean; clock?: string; live: boolean }, warn: (s: string) => void): Promise<{ options: Pick<RecordOptions, 'clock'>; maskset: Maskset }> {
  const [{ compileMaskset }, { handlerUnits }, { handlerProgram }, { bpfTable, withoutBpf }, { detectBpf }] = await Promise.all([
    import('../masksets/compile.js'),
    import('../bpf/engine.js'),
    import('../bpf/codegen.js'),
    import('../masksets/bpf-table.js'),
    import('../bpf/features.js'),
  ]);
  const plan = compileMaskset(m, env);
  const first = plan.bpf?.[0];
  if (!first) return { options: {}, maskset: m };
  const unavailable = detectBpf().unavailable;
  if (unavailable) {
    const fallback = withoutBpf(m, plan, unavailable);
    warn(`the BPF engine is unavailable (${unavailable.why}): ${fallback.moved} record engine=bpf entries record on ftrace instead`);
    return { options: {}, maskset: fallback.maskset };
  }
  // Generating the program checks every key field against its event's format and every switch's target, before anything runs.
  handlerProgram(handlerUnits(bpfTable(plan, env).entries));
  if (req.live) throw new LkstError(`${first.from}: handlers on BPF record into a trace file`, 'use `lkst record -o FILE` for this maskset');
  if (req.scoped) throw new LkstError(`${first.from}: handlers on BPF see every process, and -P/-F would scope only the ftrace events`, 'leave out -P/-F, or use a pid handler on ftrace');
  if (req.clock && req.clock !== 'mono') throw new LkstError(`${first.from}: handlers on BPF stamp their records with the mono clock, and --clock ${req.clock} was asked`, 'leave out --clock (mono is used)');
  return { options: { clock: 'mono' }, maskset: m };
}

async function masksetPlan(env: MasksetEnv, asked: Maskset, req: { skipMissing: boolean; scoped: boolean; clock?: string; live: boolean }, warn: (s: string) => void): Promise<RecordPlan> {
  const [{ applyMaskset, announceTrace, forgetTrace }, { planEvents }, { readState }, { bpfCompanion }, { bpfTable }] = await Promise.all([
    import('../masksets/session.js'),
    import('../masksets/plan.js'),
    import('../masksets/state.js'),
    import('../bpf/companion.js'),
    import('../masksets/bpf-table.js'),
  ]);
  const skipMissing = req.skipMissing;
  const { options: bpf, maskset: m } = await bpfOptions(env, asked, req, warn);
  let table: BpfTable = { entries: [], masksets: [] };
  let announced: Instance | undefined;
  let count = 0;
  const setup = async (inst: Instance, pids?: PidSet, andFilter?: string): Promise<TracepointRef[]> => {
    // andFilter goes in after (the recorder ANDs it in), so a rejected -f is reported as written;
    // the state keeps it for switches from another shell.
    const { plan } = await applyMaskset(inst, m, { env, marker: `lkst: maskset ${m.name}`, skipMissing, bpf: true, ...(pids ? { pids } : {}) });
    if (plan.missing.length) warn(`skipped (this kernel lacks them): ${plan.missing.map((x) => x.event).join(', ')}`);
    count = [...plan.tracepoints.values()].filter((t) => t.enabled).length;
    table = bpfTable(plan, env);
    // The records of handlers on BPF in masksets switched to need their formats as well.
    const withTable = (): TracepointRef[] => {
      const out = planEvents(plan);
      const have = new Set(out.map((e) => `${e.system}:${e.event}`));
      for (const e of table.entries) {
        if (have.has(e.tp)) continue;
        out.push(splitTracepointId(e.tp));
        have.add(e.tp);
      }
      return out;
    };
    // A running recorder is the trace `lkst maskset switch` and `lkst status` work on, unless one is
    // armed; not a scoped one: a switch would apply the maskset's pid set (none) over -P/-F's.
    if (pids) return withTable();
    let armed;
    try {
      armed = readState();
    } catch {
      armed = undefined;
    }
    if (!armed || armed.stopped || !Instance.exists(armed.instance)) {
      announceTrace(inst, m, plan, andFilter);
      announced = inst;
    }
    return withTable();
  };
  return {
    get describe() {
      const onBpf = new Set(table.entries.map((b) => b.tp)).size;
      return `maskset ${m.name}${count ? ` (${count} tracepoints)` : ''}${onBpf ? ` (${onBpf} with handlers on BPF)` : ''}`;
    },
    options: { events: [], setup, companion: bpfCompanion(() => table), ...bpf },
    finish: () => {
      if (announced) forgetTrace(announced);
    },
  };
}

async function attachPlan(): Promise<RecordPlan> {
  const [{ readState }, { loadMasksetEnv }, { stateMaskset }, { compileMaskset }, { planEvents }] = await Promise.all([
    import('../masksets/state.js'),
    import('../masksets/env.js'),
    import('../masksets/session.js'),
    import('../masksets/compile.js'),
    import('../masksets/plan.js'),
  ]);
  const s = readState();
  if (!s || s.stopped || !Instance.exists(s.instance)) throw new LkstError('no armed trace to attach to', 'arm one with `lkst start -m MASKSET`');
  const inst = Instance.open(s.instance);
  const env = await loadMasksetEnv();
  const planned = planEvents(compileMaskset(stateMaskset(s), env));
  const enabled = inst.enabledTracepoints();
  const seen = new Set<string>();
  const events = [...planned, ...enabled].filter((e) => !seen.has(`${e.system}:${e.event}`) && seen.add(`${e.system}:${e.event}`));
  return { describe: `the armed trace in ${inst.name} (maskset ${s.maskset})`, options: { events, attach: inst }, finish: () => {} };
}
