import { LkstError } from '../base/errors.js';
import { Instance } from '../tracefs/instance.js';
import { lastErrorLogEntry } from '../tracefs/tracefs.js';
import { splitTracepointId } from '../events/resolve.js';
import { localPlan, triggerText, type KernelPlan, type TracepointPlan } from './plan.js';
import { readLiveState, type LiveState, type LiveTracepoint } from './live-state.js';
import { targetPlans } from './targets.js';
import { faultPoint } from '../base/fault.js';
import { dropOwner, recordOwner } from '../base/owner.js';

/**
 * One write to an instance. prepare steps change nothing that is recorded (filters of events that
 * are off); flip steps change what is recorded; tidy steps clean up after the flip.
 */
export interface Step {
  readonly phase: 'prepare' | 'flip' | 'tidy';
  readonly rel: string;
  readonly value: string;
  readonly append?: boolean;
  readonly what: string;
}

const PHASES = ['prepare', 'flip', 'tidy'] as const;

function eventFile(id: string, file: string): string {
  const { system, event } = splitTracepointId(id);
  return `events/${system}/${event}/${file}`;
}

function sameCondition(a: string, b: string): boolean {
  return a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
}

/** The writes that turn what the kernel does (live) into what a plan asks; nothing for what already matches. */
export function diffPlan(live: LiveState, plan: KernelPlan): Step[] {
  const ids = new Set([...live.tracepoints.keys(), ...plan.tracepoints.keys()]);
  const removeTriggers: Step[] = [];
  const flipFilters: Step[] = [];
  const enables: Step[] = [];
  const addTriggers: Step[] = [];
  const prepare: Step[] = [];
  const tidy: Step[] = [];
  for (const id of [...ids].sort()) {
    const want: TracepointPlan | undefined = plan.tracepoints.get(id);
    const have: LiveTracepoint | undefined = live.tracepoints.get(id);
    const wantOn = want?.enabled ?? false;
    const haveOn = have?.recording ?? false;
    const wantFilter = want?.filter ?? '';
    const haveFilter = have?.filter ?? '';
    if (have && !sameCondition(wantFilter, haveFilter)) {
      const step = { rel: eventFile(id, 'filter'), value: wantFilter || '0', what: `${id} filter ${wantFilter ? `'${wantFilter}'` : 'cleared'}` };
      if (haveOn && wantOn) flipFilters.push({ phase: 'flip', ...step });
      else if (haveOn) tidy.push({ phase: 'tidy', ...step });
      else prepare.push({ phase: 'prepare', ...step });
    } else if (!have && want && wantFilter) {
      prepare.push({ phase: 'prepare', rel: eventFile(id, 'filter'), value: wantFilter, what: `${id} filter '${wantFilter}'` });
    }
    const haveTriggers = new Map((have?.triggers ?? []).map((t) => [t.command, t]));
    const wantTriggers = new Map((want?.triggers ?? []).map((t) => [t.command, t]));
    for (const [cmd, t] of haveTriggers) {
      const w = wantTriggers.get(cmd);
      if (w && sameCondition(w.condition ?? '', t.condition)) continue;
      removeTriggers.push({ phase: 'flip', rel: eventFile(id, 'trigger'), value: `!${cmd}`, append: true, what: `${id} trigger ${t.text} removed` });
    }
    for (const [cmd, w] of wantTriggers) {
      const t = haveTriggers.get(cmd);
      if (t && sameCondition(w.condition ?? '', t.condition)) continue;
      addTriggers.push({ phase: 'flip', rel: eventFile(id, 'trigger'), value: triggerText(w), append: true, what: `${id} trigger ${triggerText(w)}` });
    }
    if (wantOn !== haveOn) enables.push({ phase: 'flip', rel: eventFile(id, 'enable'), value: wantOn ? '1' : '0', what: `${id} ${wantOn ? 'on' : 'off'}` });
  }
  const wantPids = plan.pids?.pids ?? [];
  const wantFollow = plan.pids?.follow ?? false;
  const pidSteps: Step[] = [];
  if ([...wantPids].sort().join(' ') !== [...live.pids].sort().join(' ')) {
    pidSteps.push({ phase: 'flip', rel: 'set_event_pid', value: wantPids.length ? wantPids.join(' ') : ' ', what: `pids ${wantPids.join(',') || 'cleared'}` });
  }
  if (wantFollow !== live.follow) pidSteps.push({ phase: 'flip', rel: 'options/event-fork', value: wantFollow ? '1' : '0', what: `follow children ${wantFollow ? 'on' : 'off'}` });
  // Narrowing pids go first, so coming events never record other processes; widening goes last.
  // Coming events go on before leaving ones go off: inside the window both are recorded, never neither.
  const ons = enables.filter((s) => s.value === '1');
  const offs = enables.filter((s) => s.value === '0');
  const core = [...removeTriggers, ...flipFilters, ...ons, ...offs, ...addTriggers];
  const flips = plan.pids ? [...pidSteps, ...core] : [...core, ...pidSteps];
  return [...prepare, ...flips, ...tidy];
}

export interface ApplyResult {
  readonly steps: readonly Step[];
  /** Nanoseconds between the first and the last write that changed what is recorded (0 if none). */
  readonly windowNs: number;
}

// Files whose open (O_TRUNC) changes nothing, so they can be opened before the switch window.
const PREOPENABLE = /\/(enable|filter)$/;

/**
 * Writes steps in order; a marker, when given, goes into the trace just before the first flip.
 * The flips' enable and filter files are opened beforehand, so the window holds only the writes.
 */
export function runSteps(inst: Instance, steps: readonly Step[], marker?: string): ApplyResult {
  let first = 0n;
  let last = 0n;
  let marked = false;
  const writers = new Map<Step, { write(value: string): void; close(): void }>();
  try {
    for (const s of steps) if (s.phase === 'flip' && PREOPENABLE.test(s.rel)) writers.set(s, inst.openWriter(s.rel));
    for (const phase of PHASES) {
      for (const s of steps.filter((x) => x.phase === phase)) {
        if (s.phase === 'flip' && marker && !marked) {
          inst.mark(marker);
          marked = true;
        }
        const t0 = process.hrtime.bigint();
        const w = writers.get(s);
        if (w) w.write(s.value);
        else inst.write(s.rel, s.value, s.append ? { append: true } : {});
        if (s.phase === 'flip') {
          if (!first) first = t0;
          last = process.hrtime.bigint();
        }
        faultPoint(`apply:${s.phase}:${s.rel}`);
      }
    }
  } finally {
    for (const w of writers.values()) w.close();
  }
  if (marker && !marked) inst.mark(marker);
  return { steps, windowNs: Number(last - first) };
}

/** Every tracepoint the plan or the instance mentions, read back. */
export function liveFor(inst: Instance, plan: KernelPlan): LiveState {
  return readLiveState(inst, plan.tracepoints.keys());
}

/** Refuses a plan that names events this kernel lacks, unless skipping them is allowed (or the entries asked only for what the kernel has). */
export function checkMissing(plan: KernelPlan, skipMissing: boolean): void {
  const refused = plan.missing.filter((m) => !m.optional);
  if (!refused.length || skipMissing) return;
  const list = refused.map((m) => `${m.event} (${m.where})`).join(', ');
  throw new LkstError(`maskset ${plan.maskset} names events this kernel lacks: ${list}`, 'nothing was changed; remove them, or apply the rest with --skip-missing');
}

/**
 * Tries every filter and trigger of a plan in a scratch instance, so a rejected expression refuses
 * the whole change before anything live is touched (the kernel's reason comes with the error).
 */
export function checkPlanOnKernel(plan: KernelPlan): void {
  const scratch = Instance.createOwned('check');
  recordOwner(scratch.name, 'scratch');
  const attempt = (tp: TracepointPlan, what: string, write: () => void): void => {
    try {
      write();
    } catch (err) {
      if (!(err instanceof LkstError) || !err.what.includes('rejected')) throw err;
      const reason = lastErrorLogEntry(scratch.dir);
      throw new LkstError(`${tp.from.join('; ')}: the kernel rejected ${what} on ${tp.id}${reason ? ` (${reason})` : ''}`, "fix the expression (the kernel's filter syntax: Documentation/trace/events.rst)");
    }
  };
  try {
    for (const tp of plan.tracepoints.values()) {
      if (tp.filter) attempt(tp, `the filter '${tp.filter}'`, () => scratch.setFilter(tp.system, tp.event, tp.filter));
      // One trigger per command and event in an instance (traceon and traceoff count as one): the
      // same command for another buffer is tried once.
      const tried = new Set<string>();
      for (const t of tp.triggers) {
        const kind = t.command.replace(/^trace(on|off)$/, 'traceonoff');
        if (tried.has(kind)) continue;
        tried.add(kind);
        attempt(tp, `the trigger '${triggerText(t)}'`, () => scratch.addTrigger(tp.system, tp.event, triggerText(t)));
      }
    }
    faultPoint('apply:checked');
  } finally {
    clearInstance(scratch);
    scratch.remove();
    dropOwner(scratch.name);
  }
}

/** Turns off every event, trigger, filter and pid set of an instance (what `lkst reset` needs). */
export function clearInstance(inst: Instance): ApplyResult {
  const empty: KernelPlan = { maskset: 'off', tracepoints: new Map(), missing: [] };
  return runSteps(inst, diffPlan(readLiveState(inst), empty));
}

/**
 * Applies a plan to an instance: only the differences, the marker before the first change.
 * If a write fails, the instance is brought back to the previous plan (when given) and the error says so.
 */
export function applyPlan(inst: Instance, plan: KernelPlan, opts: { marker?: string; previous?: KernelPlan; skipMissing?: boolean } = {}): ApplyResult {
  checkMissing(plan, opts.skipMissing ?? false);
  const targets = targetPlans(inst, plan, opts.previous);
  checkPlanOnKernel(plan);
  const local = localPlan(plan, inst.name);
  const steps = diffPlan(liveFor(inst, local), local);
  const other = targets.map((t) => ({ t, steps: diffPlan(t.live, t.plan) }));
  const removal = (s: Step): boolean => s.rel.endsWith('/trigger') && s.value.startsWith('!');
  try {
    // A switch pair is traceoff here and traceon there: a leaving traceon goes before this instance
    // changes, a coming one after it (and its buffer is stopped first), so no event fires the
    // traceon while this instance still records.
    for (const { t, steps: ts } of other) {
      if (t.arm) t.inst.tracingOn = false;
      runSteps(t.inst, ts.filter(removal));
    }
    faultPoint('apply:targets-cleared');
    const result = runSteps(inst, steps, opts.marker);
    faultPoint('apply:local-done');
    for (const { t, steps: ts } of other) runSteps(t.inst, ts.filter((s) => !removal(s)));
    return result;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (opts.previous) {
      try {
        const prev = localPlan(opts.previous, inst.name);
        runSteps(inst, diffPlan(liveFor(inst, prev), prev));
      } catch {
        throw new LkstError(`applying ${plan.maskset} failed (${why}) and going back to ${opts.previous.maskset} failed too`, '`lkst status` shows what the kernel does now; `lkst reset` clears it');
      }
      throw new LkstError(`applying ${plan.maskset} failed, ${opts.previous.maskset} is back in place (${why})`, 'fix the maskset and retry');
    }
    throw err;
  }
}
