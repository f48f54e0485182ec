import { Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { availableEvents } from '../events/live.js';
import { resolveEventSet, splitTracepointId } from '../events/resolve.js';
import type { RecordOptions, TracepointRef } from '../record/recorder.js';
import type { MasksetEnv } from '../masksets/env.js';
import type { Maskset, MasksetEntry } from '../masksets/model.js';
import type { BpfTable } from '../masksets/bpf-table.js';
import { checkRunnable, processThreads, type PidSet, type RecordScope } from '../record/scope.js';
import { isProbeSpec, isTracerKind, parseProbeText, type ProbeSpec, probeGroup } from '../probes/spec.js';

/** What `lkst record` records: named events, a maskset, or an armed trace it attaches to. */
export interface RecordPlan {
  describe: string;
  options: Pick<RecordOptions, 'events' | 'setup' | 'prepare' | 'attach' | 'scope' | 'companion' | 'clock'>;
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
  const probes = new RecordingProbes(warn);
  try {
    const plan = await planWith(opts, warn, probes);
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

async function planWith(opts: PlanRequest, warn: (s: string) => void, probes: RecordingProbes): Promise<RecordPlan> {
  const masksets = opts.maskset ?? [];
  if (opts.attach && (opts.event?.length || masksets.length)) {
    throw new LkstError('--attach excludes -e and -m', 'attach to the armed trace as it is, or record events or masksets of your own');
  }
  const scope = planScope(opts);
  if (opts.attach) return attachPlan();
  const scoped = (p: RecordPlan): RecordPlan => (scope ? { ...p, describe: `${p.describe} of ${scopeText(scope, opts.command)}`, options: { ...p.options, scope } } : p);
  const picks = await probes.picks(opts.event ?? []);
  const traced = async (p: RecordPlan): Promise<RecordPlan> => scoped(await probes.withTracer(p));
  if (!picks.length && !masksets.length && probes.tracers.length) return traced({ describe: 'no tracepoints', options: { events: [] }, finish: () => {} });
  if (picks.length && !masksets.length && !picks.some((p) => p.filter !== undefined)) return traced(eventsPlan(picks.map((p) => p.name), warn));
  // The maskset modules (handlers, parser, store) load only for a maskset: `-e` alone starts faster.
  const { loadMasksetEnv } = await import('../masksets/env.js');
  const env = await loadMasksetEnv();
  const loaded = (picks.length && !masksets.length ? [] : masksets.length ? masksets : ['default']).map((n) => env.store.load(n));
  const withProbes: Maskset[] = [];
  for (const m of loaded) withProbes.push(await probes.maskset(m));
  // The kernel's events as they are now that the masksets' probes are made.
  const now = withProbes.some((m, i) => m !== loaded[i]) ? { ...env, available: availableEvents() } : env;
  return traced(await masksetPlan(now, combineMasksets(withProbes, picks), { skipMissing: opts.skipMissing ?? false, scoped: scope !== undefined, clock: opts.clock, live: opts.live ?? false }, warn));
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

/**
 * The probes of one recording (-e and maskset lines naming probe specs): dynamic events made in
 * lkst's own group before the plan (a maskset compiles against them) and removed when it ends
 * (reset removes a killed recorder's); function:/function_graph: set on the recording's instance.
 */
class RecordingProbes {
  readonly group = probeGroup();
  readonly tracers: ProbeSpec[] = [];
  private readonly made = new Map<string, string>();
  private removeGroup: ((group: string) => number) | undefined;
  constructor(private readonly warn: (s: string) => void) {}

  /** The system:event a probe spec became (made once per spec); undefined for a tracer. */
  async event(name: string, where: string): Promise<string | undefined> {
    if (!isProbeSpec(name)) return name;
    const spec = parseProbeText(name);
    if (isTracerKind(spec.kind)) {
      if (!this.tracers.some((t) => t.kind === spec.kind && t.target === spec.target)) this.tracers.push(spec);
      return undefined;
    }
    const key = [spec.kind, spec.file, spec.target, spec.offset, ...spec.args].join(' ');
    const had = this.made.get(key);
    if (had) return had;
    const dynamic = await import('../probes/dynamic.js');
    this.removeGroup = (g) => dynamic.removeProbeGroup(g);
    try {
      const ev = dynamic.createProbe(spec, this.group);
      this.made.set(key, `${ev.system}:${ev.event}`);
      return `${ev.system}:${ev.event}`;
    } catch (err) {
      if (err instanceof LkstError && where) throw new LkstError(`${where}: ${err.what}`, err.fix);
      throw err;
    }
  }

  /** -e picks with their probes made; a filter on a tracer is refused (it has no fields to test). */
  async picks(picks: readonly EventPick[]): Promise<EventPick[]> {
    const out: EventPick[] = [];
    for (const p of picks) {
      const name = await this.event(p.name, '');
      if (name === undefined && p.filter !== undefined) throw new LkstError(`-f does not apply to ${p.name}`, 'filter a kprobe or fprobe on the function instead');
      if (name !== undefined) out.push({ ...p, name });
    }
    return out;
  }

  /** A maskset with its probe lines' probes made (a tracer line leaves the table: the instance runs it). */
  async maskset(m: Maskset): Promise<Maskset> {
    if (!m.entries.some((e) => isProbeSpec(e.event))) return m;
    const entries: MasksetEntry[] = [];
    for (const e of m.entries) {
      const event = await this.event(e.event, e.where);
      if (event === undefined && e.handler !== 'record') throw new LkstError(`${e.where}: ${e.event} takes the record handler only`, 'write it as `function:GLOB record`');
      if (event !== undefined) entries.push({ ...e, event });
    }
    return { ...m, entries };
  }

  /** The plan with the function tracer started on its instance before its pipes open, when one was asked for (its module loads only then). */
  async withTracer(plan: RecordPlan): Promise<RecordPlan> {
    if (!this.tracers.length) return plan;
    const { scopeFunctionTracer, startFunctionTracer } = await import('../probes/tracer.js');
    const { setup, events } = plan.options;
    const tracers = this.tracers;
    return {
      ...plan,
      get describe() {
        return `${plan.describe} and the ${tracers[0]!.kind} tracer on ${tracers.map((t) => t.target).join(' ')}`;
      },
      options: {
        ...plan.options,
        prepare: (inst) => startFunctionTracer(inst, tracers),
        setup: async (inst, pids, andFilter) => {
          scopeFunctionTracer(inst, pids);
          if (setup) return setup(inst, pids, andFilter);
          for (const e of events) {
            if (e.filter) inst.setFilter(e.system, e.event, e.filter);
            inst.setEventEnabled(e.system, e.event, true);
          }
          return events;
        },
      },
    };
  }

  remove(): void {
    if (!this.removeGroup) return;
    try {
      this.removeGroup(this.group);
    } catch (err) {
      this.warn(`could not remove the probes of ${this.group}: ${(err as Error).message}; \`lkst reset\` removes them`);
    }
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
    warn(`the BPF engine is unavailable (${unavailable.why}): ${fallback.moved} engine=bpf entries (record, pid, filter) run on ftrace instead`);
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
