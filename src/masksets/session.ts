import { LkstError } from '../base/errors.js';
import { Instance } from '../tracefs/instance.js';
import { compileMaskset } from './compile.js';
import { loadMasksetEnv, type MasksetEnv } from './env.js';
import type { Maskset, MasksetEntry } from './model.js';
import { parseParamWords } from './parse.js';
import type { KernelPlan } from './plan.js';
import { applyPlan, clearInstance, type ApplyResult } from './apply.js';
import { andFilters, foreignTriggers } from './plan.js';
import { splitTracepointId } from '../events/resolve.js';
import { existsSync } from 'node:fs';
import { readState, removeState, requireState, statePath, writeState, type ForeignTrigger, type TraceState } from './state.js';

/** The instance `lkst start` arms when no name is given. */
export const ARMED_INSTANCE = 'lkst-trace';

export interface AppliedMaskset {
  readonly plan: KernelPlan;
  readonly result: ApplyResult;
}

/**
 * Makes an instance trace what a maskset says, changing only what differs from what it does now.
 * For `lkst record -m`: `applyMaskset(inst, 'default')`.
 */
export async function applyMaskset(
  inst: Instance,
  maskset: string | Maskset,
  opts: { env?: MasksetEnv; marker?: string; previous?: KernelPlan; skipMissing?: boolean; pids?: KernelPlan['pids']; andFilter?: string } = {},
): Promise<AppliedMaskset> {
  const env = opts.env ?? (await loadMasksetEnv());
  const m = typeof maskset === 'string' ? env.store.load(maskset) : maskset;
  const plan = withAndFilter(scopedPlan(compileMaskset(m, env), m.name, opts.pids), opts.andFilter);
  const result = applyPlan(inst, plan, {
    ...(opts.marker ? { marker: opts.marker } : {}),
    ...(opts.previous ? { previous: opts.previous } : {}),
    skipMissing: opts.skipMissing ?? false,
  });
  for (const note of armedSwitchNotes(m, plan)) inst.mark(note);
  return { plan, result };
}

/** The plan with a recording's pid set (lkst record -P/-F); one set per buffer, so a maskset's own is refused. */
function scopedPlan(plan: KernelPlan, name: string, pids: KernelPlan['pids']): KernelPlan {
  if (!pids) return plan;
  if (plan.pids) throw new LkstError(`maskset ${name} records only pids ${plan.pids.pids.join(',')} itself (a pid handler)`, 'leave out -P/-F, or record a maskset without a pid handler');
  return { ...plan, pids };
}

/** Every tracepoint of the plan with the expression ANDed into its filter. */
function withAndFilter(plan: KernelPlan, expr: string | undefined): KernelPlan {
  if (!expr) return plan;
  const tracepoints = new Map([...plan.tracepoints].map(([id, t]) => [id, { ...t, filter: andFilters([t.filter, expr]) }]));
  return { ...plan, tracepoints };
}

/**
 * Markers describing the in-kernel switches a maskset arms ("lkst: maskset a: switch to b armed on
 * EVENT if COND"), so a report can name the stack trace that marks the moment one fires.
 */
export function armedSwitchNotes(m: Maskset, plan: KernelPlan): string[] {
  return m.entries
    .filter((e) => e.handler === 'switch' && !plan.missing.some((x) => x.where === e.where))
    .map((e) => `lkst: maskset ${m.name}: switch to ${e.params['buffer'] ? `buffer ${e.params['buffer']}` : e.params['to']} armed on ${e.event}${e.params['if'] ? ` if ${e.params['if']}` : ''}${e.params['count'] ? ` count ${e.params['count']}` : ''}`);
}

/** The table a state file says was applied, as a maskset. */
export function stateMaskset(s: TraceState): Maskset {
  return { name: s.maskset, description: '', includes: [], entries: s.entries, source: 'the armed trace' };
}

function skippedText(plan: KernelPlan): string {
  return plan.missing.length ? `\nskipped (this kernel lacks them): ${plan.missing.map((m) => `${m.event} (${m.where})`).join(', ')}` : '';
}

function armedInstance(s: TraceState): Instance {
  if (!Instance.exists(s.instance)) throw new LkstError(`the armed trace's instance ${s.instance} is gone`, 'arm a new one with `lkst start -m MASKSET`');
  return Instance.open(s.instance);
}

/**
 * Makes a trace that lkst applied a maskset to the one `lkst maskset switch`, `lkst handler set`
 * and `lkst status` work on: `lkst start` calls it, and `lkst record -m` can, so a running recorder
 * can be switched from another shell. Pair with forgetTrace when the recording ends.
 */
export function announceTrace(inst: Instance, m: Maskset, plan: KernelPlan, andFilter?: string): void {
  writeState({
    version: 1,
    instance: inst.name,
    maskset: m.name,
    entries: m.entries,
    edited: [],
    skipped: plan.missing,
    targets: foreignOf(plan, inst.name),
    ...(andFilter ? { andFilter } : {}),
    startedAt: new Date().toISOString(),
    stopped: false,
    switches: [],
  });
}

/** Drops the state if it names this instance (a recorder that announced itself is done). */
export function forgetTrace(inst: Instance): void {
  let s: TraceState | undefined;
  try {
    s = readState();
  } catch {
    return;
  }
  if (s?.instance === inst.name) removeState();
}

export interface StartOptions {
  maskset: string;
  skipMissing?: boolean;
  /** Per-CPU buffer size in KB. */
  bufferKb?: number;
  /** Instance name (lkst-trace by default). */
  instance?: string;
}

/** `lkst start -m MASKSET`: arms tracing in a persistent instance and returns. */
export async function startTrace(opts: StartOptions): Promise<string> {
  let old: TraceState | undefined;
  try {
    old = readState();
  } catch {
    old = undefined; // a damaged state file is replaced
  }
  if (old && !old.stopped && Instance.exists(old.instance)) {
    throw new LkstError(`a trace is already armed (maskset ${old.maskset} in ${old.instance})`, 'switch it with `lkst maskset switch NAME`, or `lkst stop` it first');
  }
  const env = await loadMasksetEnv();
  const m = env.store.load(opts.maskset);
  const name = opts.instance ?? ARMED_INSTANCE;
  const existed = Instance.exists(name);
  const inst = existed ? Instance.open(name) : Instance.create(name, { owned: false });
  let applied: AppliedMaskset;
  try {
    if (opts.bufferKb) inst.bufferSizeKb = opts.bufferKb;
    inst.clear();
    // A stopped instance has its ring buffer off, and the kernel refuses the start marker (EBADF) then.
    inst.tracingOn = true;
    applied = await applyMaskset(inst, m, { env, marker: `lkst: maskset ${m.name}`, skipMissing: opts.skipMissing ?? false });
  } catch (err) {
    clearInstance(inst);
    // An instance this start did not make (a stopped trace) is left as it was found: off.
    if (existed) inst.tracingOn = false;
    else inst.remove();
    throw err;
  }
  announceTrace(inst, m, applied.plan);
  return `tracing armed in ${inst.name} with maskset ${m.name}: ${[...applied.plan.tracepoints.values()].filter((t) => t.enabled).length} tracepoints recorded${skippedText(applied.plan)}`;
}

/** The triggers a plan puts in other instances, as the state file keeps them for stop and reset. */
function foreignOf(plan: KernelPlan, instance: string): ForeignTrigger[] {
  const out: ForeignTrigger[] = [];
  for (const [name, byTp] of foreignTriggers(plan, instance)) for (const [tracepoint, ts] of byTp) for (const t of ts) out.push({ instance: name, tracepoint, command: t.command });
  return out;
}

/**
 * Undoes what the armed table did in other buffers: a switch target stops with every event off (it
 * keeps its content); the triggers the table put elsewhere are removed. A buffer already deleted
 * leaves nothing to undo.
 */
function releaseTargets(s: TraceState): string[] {
  const out: string[] = [];
  const byInst = new Map<string, ForeignTrigger[]>();
  for (const t of s.targets ?? []) byInst.set(t.instance, [...(byInst.get(t.instance) ?? []), t]);
  for (const [name, ts] of byInst) {
    if (!Instance.exists(name)) continue;
    const inst = Instance.open(name);
    if (ts.some((t) => t.command === 'traceon')) {
      inst.tracingOn = false;
      clearInstance(inst);
      out.push(`${name} stopped, its events off (it keeps what it recorded)`);
      continue;
    }
    for (const t of ts) {
      const { system, event } = splitTracepointId(t.tracepoint);
      if (inst.triggers(system, event).some((l) => l.startsWith(t.command))) inst.removeTrigger(system, event, t.command);
    }
    out.push(`${name}: the table's triggers removed`);
  }
  return out;
}

/** `lkst stop`: stops recording and unhooks every event; the buffer keeps its content unless removed. */
export function stopTrace(opts: { remove?: boolean } = {}): string {
  const s = requireState();
  const released = releaseTargets(s);
  const also = released.length ? `\n${released.join('\n')}` : '';
  if (!Instance.exists(s.instance)) {
    removeState();
    return `the armed instance ${s.instance} was already gone; state cleared${also}`;
  }
  const inst = Instance.open(s.instance);
  inst.tracingOn = false;
  clearInstance(inst);
  if (opts.remove) {
    inst.remove();
    removeState();
    return `stopped; ${s.instance} removed${also}`;
  }
  writeState({ ...s, stopped: true });
  return `stopped; every event is off and ${s.instance} keeps what it recorded (\`lkst stop --remove\` or \`lkst reset\` frees it)${also}`;
}

/** `lkst maskset switch NAME`: applies only the differences, marks the trace, records the window. */
export async function masksetSwitch(opts: { name: string; skipMissing?: boolean }): Promise<string> {
  const s = requireState();
  if (s.stopped) throw new LkstError('the armed trace is stopped', 'start it again with `lkst start -m ' + opts.name + '`');
  const inst = armedInstance(s);
  const env = await loadMasksetEnv();
  const to = env.store.load(opts.name);
  const previous = compileMaskset(stateMaskset(s), env);
  const marker = `lkst: maskset ${s.maskset} -> ${to.name}`;
  const { plan, result } = await applyMaskset(inst, to, { env, marker, previous, skipMissing: opts.skipMissing ?? false, andFilter: s.andFilter });
  const windowUs = Math.round(result.windowNs / 100) / 10;
  const flips = result.steps.filter((x) => x.phase === 'flip').length;
  writeState({
    ...s,
    maskset: to.name,
    entries: to.entries,
    edited: [],
    skipped: plan.missing,
    targets: foreignOf(plan, inst.name),
    switches: [...s.switches, { from: s.maskset, to: to.name, at: new Date().toISOString(), windowUs, writes: flips, skipped: plan.missing.map((m) => m.event) }].slice(-20),
  });
  return `switched ${s.maskset} -> ${to.name}: ${flips} changes in ${windowUs} us, ${result.steps.length - flips} set-up writes${skippedText(plan)}`;
}

const NULL_HANDLERS = new Set(['null', 'none', 'off']);

/**
 * `lkst handler set EVENT HANDLER [PARAM=VALUE...]`: one entry of the live table (or, with
 * maskset, of a maskset file). HANDLER null removes the entry: the event is not traced.
 */
export async function handlerSet(opts: { event: string; handler: string; params?: string[]; maskset?: string }): Promise<string> {
  const env = await loadMasksetEnv();
  let params: Record<string, string>;
  try {
    params = parseParamWords(opts.params ?? []);
  } catch (err) {
    throw new LkstError((err as Error).message, 'write parameters as NAME=VALUE');
  }
  const entry: MasksetEntry = { event: opts.event, handler: opts.handler, params, where: 'lkst handler set' };
  const replace = (entries: readonly MasksetEntry[]): MasksetEntry[] => {
    const rest = entries.filter((e) => e.event !== opts.event);
    return NULL_HANDLERS.has(opts.handler) ? rest : [...rest, entry];
  };
  if (opts.maskset) {
    const { editMasksetEntries } = await import('./commands.js');
    return editMasksetEntries(env, opts.maskset, replace);
  }
  const s = requireState();
  if (s.stopped) throw new LkstError('the armed trace is stopped', 'start it again with `lkst start -m MASKSET`');
  const inst = armedInstance(s);
  const before = stateMaskset(s);
  const after: Maskset = { ...before, entries: replace(before.entries) };
  const previous = compileMaskset(before, env);
  const { plan, result } = await applyMaskset(inst, after, { env, previous, skipMissing: false, andFilter: s.andFilter });
  writeState({ ...s, entries: after.entries, edited: [...new Set([...s.edited, opts.event])], skipped: plan.missing, targets: foreignOf(plan, inst.name) });
  const flips = result.steps.filter((x) => x.phase === 'flip').length;
  const what = NULL_HANDLERS.has(opts.handler) ? `${opts.event} is no longer traced` : `${opts.event} now uses ${opts.handler}${Object.keys(params).length ? ' ' + (opts.params ?? []).join(' ') : ''}`;
  return `${what} (${flips} kernel writes, ${Math.round(result.windowNs / 100) / 10} us)`;
}

/**
 * For `lkst reset`: turns off and removes the armed trace's instance (from the state file, else the
 * given or default name: a start that died before writing its state) and forgets the state.
 */
export function resetArmed(instance?: string): string {
  let s: TraceState | undefined;
  try {
    s = readState();
  } catch {
    s = undefined; // damaged: removed below
  }
  const lines: string[] = [];
  const name = s?.instance ?? instance ?? ARMED_INSTANCE;
  if (s) lines.push(...releaseTargets(s));
  if (Instance.exists(name)) {
    const inst = Instance.open(name);
    inst.tracingOn = false;
    clearInstance(inst);
    inst.remove();
    lines.push(`removed the armed trace ${name}`);
  }
  if (s || existsSync(statePath())) {
    removeState();
    lines.push('cleared the armed-trace state');
  }
  return lines.join('\n') || 'no armed trace';
}
