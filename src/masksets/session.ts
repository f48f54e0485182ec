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
import { liveTable, switchLiveTable } from '../bpf/live-counts.js';
import { startBpfDaemon, stopBpfDaemon, type DaemonRecord } from '../bpf/daemon.js';
import { bpfTable, recordsOnFtrace } from './bpf-table.js';
import { describeOwner, dropOwner, foreignOwner, recordOwner, refuseForeign } from '../base/owner.js';
import { bufferNameOf } from '../buffers/name.js';
import { journaledChange, settleJournal } from './journal.js';
import { readState, removeState, requireState, stateMaskset, statePath, writeState, type ForeignTrigger, type TraceState } from './state.js';

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
  opts: { env?: MasksetEnv; marker?: string; previous?: KernelPlan; skipMissing?: boolean; pids?: KernelPlan['pids']; andFilter?: string; bpf?: boolean } = {},
): Promise<AppliedMaskset> {
  const env = opts.env ?? (await loadMasksetEnv());
  const m = typeof maskset === 'string' ? env.store.load(maskset) : maskset;
  const plan = withAndFilter(scopedPlan(compileMaskset(m, env), m.name, opts.pids), opts.andFilter);
  // Only a caller that runs the BPF engine (a recorder, lkst start, a switch within the loaded table) passes bpf: true.
  const onBpf = plan.bpf?.[0];
  if (onBpf && !opts.bpf) throw new LkstError(`${onBpf.from}: handlers on BPF change only within the table loaded when the trace began, and maskset ${m.name} is not in it`, `stop and start again with \`lkst start -m ${m.name}\` (or \`lkst record -m ${m.name}\`)`);
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

export { stateMaskset };

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
  /** Take the instance over even when another live lkst owns it. */
  force?: boolean;
}

/** A recorder that announced its trace lets other shells switch it: the change says whose trace it was. */
function whose(instance: string): string {
  const owner = foreignOwner(instance);
  return owner ? `\n(${instance} is recorded by ${describeOwner(owner)}, which offers it for switching)` : '';
}

/**
 * A command's result, and apart from it what settling another (killed) lkst's leftovers did: those
 * notes are about another process, so the command prints them beside its result, never inside it.
 */
export interface Outcome {
  text: string;
  notes: string[];
}

/** `lkst start -m MASKSET`: arms tracing in a persistent instance and returns. */
export async function startTrace(opts: StartOptions): Promise<Outcome> {
  const settled = await settleJournal();
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
  // No recorder takes BPF records here: record, pid and filter with engine=bpf record on ftrace instead, the same events.
  const { maskset: m, moved } = recordsOnFtrace(env.store.load(opts.maskset));
  const name = opts.instance ?? ARMED_INSTANCE;
  const existed = Instance.exists(name);
  // Another state directory's armed trace, or a running recorder, is never cleared from here.
  if (existed) refuseForeign(name, 'arming', opts.force);
  const inst = existed ? Instance.open(name) : Instance.create(name, { owned: false });
  // A buffer stays the user's (reset never removes it); any other instance is the armed trace's.
  if (!bufferNameOf(name)) recordOwner(inst.name, 'armed');
  let applied: AppliedMaskset;
  let daemon: DaemonRecord | undefined;
  try {
    if (opts.bufferKb) inst.bufferSizeKb = opts.bufferKb;
    // Handlers on BPF stamp with bpf_ktime_get_ns: the instance's events merge with theirs on mono.
    if (compileMaskset(m, env).bpf?.length) inst.clock = 'mono';
    inst.clear();
    // A stopped instance has its ring buffer off, and the kernel refuses the start marker (EBADF) then.
    inst.tracingOn = true;
    applied = await applyMaskset(inst, m, { env, marker: `lkst: maskset ${m.name}`, skipMissing: opts.skipMissing ?? false, bpf: true });
    // Without a recorder, lkst-bpf-run holds the handlers on BPF alone (bpf/daemon.ts).
    if (applied.plan.bpf?.length) {
      const table = bpfTable(applied.plan, env);
      daemon = startBpfDaemon(table.entries, inst.name, table.masksets);
    }
  } catch (err) {
    clearInstance(inst);
    // An instance this start did not make (a stopped trace) is left as it was found: off.
    if (existed) inst.tracingOn = false;
    else {
      inst.remove();
      dropOwner(inst.name);
    }
    throw err;
  }
  announceTrace(inst, m, applied.plan);
  const onBpf = `${daemon ? `; handlers on BPF: ${daemon.programs} programs attached, held by lkst-bpf-run pid ${daemon.pid} (\`lkst status\` shows their counts, \`lkst stop\` detaches them)` : ''}${moved ? `; ${moved} record/pid/filter entries with engine=bpf record on ftrace (an armed trace has no recorder to take BPF records)` : ''}`;
  return { notes: settled, text: `tracing armed in ${inst.name} with maskset ${m.name}: ${[...applied.plan.tracepoints.values()].filter((t) => t.enabled).length} tracepoints recorded${onBpf}${skippedText(applied.plan)}` };
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
export async function stopTrace(opts: { remove?: boolean; force?: boolean } = {}): Promise<Outcome> {
  const notes = await settleJournal();
  const s = requireState();
  // A recorder that announced its trace for switching still records it: stopping it cuts its trace short.
  refuseForeign(s.instance, 'stopping', opts.force);
  const released = [...(stopBpfDaemon(s.instance) ?? []), ...releaseTargets(s)];
  const also = released.length ? `\n${released.join('\n')}` : '';
  if (!Instance.exists(s.instance)) {
    removeState();
    return { notes, text: `the armed instance ${s.instance} was already gone; state cleared${also}` };
  }
  const inst = Instance.open(s.instance);
  inst.tracingOn = false;
  clearInstance(inst);
  if (opts.remove && !bufferNameOf(inst.name)) {
    inst.remove();
    dropOwner(inst.name);
    removeState();
    return { notes, text: `stopped; ${s.instance} removed${also}` };
  }
  writeState({ ...s, stopped: true });
  return { notes, text: `stopped; every event is off and ${s.instance} keeps what it recorded (\`lkst stop --remove\` or \`lkst reset\` frees it)${also}` };
}

/** `lkst maskset switch NAME`: applies only the differences, marks the trace, records the window. */
export async function masksetSwitch(opts: { name: string; skipMissing?: boolean }): Promise<Outcome> {
  const notes = await settleJournal();
  const s = requireState();
  if (s.stopped) throw new LkstError('the armed trace is stopped', 'start it again with `lkst start -m ' + opts.name + '`');
  const inst = armedInstance(s);
  const env = await loadMasksetEnv();
  const to = env.store.load(opts.name);
  const previous = compileMaskset(stateMaskset(s), env);
  const marker = `lkst: maskset ${s.maskset} -> ${to.name}`;
  const next = compileMaskset(to, env);
  // A recording whose BPF table holds the maskset switches its handlers on BPF by one map write, after the ftrace part.
  const bpfIndex = liveTable(s.instance)?.masksets.indexOf(to.name) ?? -1;
  const after: TraceState = { ...s, maskset: to.name, entries: to.entries, edited: [], skipped: next.missing, targets: foreignOf(next, inst.name) };
  const { plan, result } = await journaledChange(
    s,
    after,
    () => applyMaskset(inst, to, { env, marker, previous, skipMissing: opts.skipMissing ?? false, andFilter: s.andFilter, bpf: bpfIndex >= 0 }),
    ({ plan, result }) => ({
      ...after,
      switches: [...s.switches, { from: s.maskset, to: to.name, at: new Date().toISOString(), windowUs: Math.round(result.windowNs / 100) / 10, writes: result.steps.filter((x) => x.phase === 'flip').length, skipped: plan.missing.map((m) => m.event) }].slice(-20),
    }),
  );
  const windowUs = Math.round(result.windowNs / 100) / 10;
  const flips = result.steps.filter((x) => x.phase === 'flip').length;
  const onBpf = bpfIndex >= 0 ? `; handlers on BPF: one map write in ${((await switchLiveTable(s.instance, bpfIndex)).windowNs / 1000).toFixed(1)} us` : '';
  return { notes, text: `switched ${s.maskset} -> ${to.name}: ${flips} changes in ${windowUs} us, ${result.steps.length - flips} set-up writes${onBpf}${skippedText(plan)}${whose(s.instance)}` };
}

const NULL_HANDLERS = new Set(['null', 'none', 'off']);

/**
 * `lkst handler set EVENT HANDLER [PARAM=VALUE...]`: one entry of the live table (or, with
 * maskset, of a maskset file). HANDLER null removes the entry: the event is not traced.
 */
export async function handlerSet(opts: { event: string; handler: string; params?: string[]; maskset?: string }): Promise<Outcome> {
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
    return { notes: [], text: editMasksetEntries(env, opts.maskset, replace) };
  }
  const notes = await settleJournal();
  const s = requireState();
  if (s.stopped) throw new LkstError('the armed trace is stopped', 'start it again with `lkst start -m MASKSET`');
  const inst = armedInstance(s);
  const before = stateMaskset(s);
  const after: Maskset = { ...before, entries: replace(before.entries) };
  const previous = compileMaskset(before, env);
  const next = compileMaskset(after, env);
  const afterState: TraceState = { ...s, entries: after.entries, edited: [...new Set([...s.edited, opts.event])], skipped: next.missing, targets: foreignOf(next, inst.name) };
  // The BPF entries stay as loaded (cli/commands/handler.ts changes their pid sets live).
  const { result } = await journaledChange(s, afterState, () => applyMaskset(inst, after, { env, previous, skipMissing: false, andFilter: s.andFilter, bpf: liveTable(s.instance) !== undefined }), () => afterState);
  const flips = result.steps.filter((x) => x.phase === 'flip').length;
  const what = NULL_HANDLERS.has(opts.handler) ? `${opts.event} is no longer traced` : `${opts.event} now uses ${opts.handler}${Object.keys(params).length ? ' ' + (opts.params ?? []).join(' ') : ''}`;
  return { notes, text: `${what} (${flips} kernel writes, ${Math.round(result.windowNs / 100) / 10} us)${whose(s.instance)}` };
}

/**
 * For `lkst reset`: turns off and removes the armed trace's instance (from the state file, else the
 * given or default name: a start that died before writing its state) and forgets the state. A trace
 * another live lkst owns is kept (unless forced) and a buffer is never removed: it is stopped with
 * its events off and keeps its content.
 */
export function resetArmed(instance?: string, opts: { force?: boolean } = {}): string {
  let s: TraceState | undefined;
  try {
    s = readState();
  } catch {
    s = undefined; // damaged: removed below
  }
  const lines: string[] = [];
  const name = s?.instance ?? instance ?? ARMED_INSTANCE;
  const owner = foreignOwner(name);
  if (owner && !opts.force) return `kept ${name}: ${describeOwner(owner)} uses it; --force stops it`;
  if (s) lines.push(...releaseTargets(s));
  lines.push(...(stopBpfDaemon(name) ?? []));
  if (Instance.exists(name)) {
    try {
      lines.push(takeDown(Instance.open(name), 'the armed trace'));
    } catch (err) {
      if (Instance.exists(name)) throw err; // else another lkst took it down first
    }
  }
  if (s || existsSync(statePath())) {
    removeState();
    lines.push('cleared the armed-trace state');
  }
  return lines.join('\n') || 'no armed trace';
}

/**
 * Stops an instance lkst made, every event off, and removes it: never a buffer (it stays, stopped,
 * with its content), nor one a live reader still holds open (it goes when that reader ends).
 */
export function takeDown(inst: Instance, what: string): string {
  inst.tracingOn = false;
  clearInstance(inst);
  const buffer = bufferNameOf(inst.name);
  if (buffer) return `stopped buffer ${buffer} (${what} had moved into it), its events off; kept with its content: \`lkst buffer delete ${buffer}\` removes it`;
  try {
    inst.remove();
  } catch (err) {
    return `stopped ${inst.name}, its events off; not removed (${err instanceof LkstError ? err.what : String(err)}): its reader still holds it`;
  }
  dropOwner(inst.name);
  return `removed ${what} ${inst.name}`;
}
