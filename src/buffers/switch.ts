import { readFileSync, writeFileSync } from 'node:fs';
import { Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { applyEventSet, readEventSet } from './event-set.js';
import { pidScope, setPidScope } from './pids.js';
import { bufferInstanceName } from './name.js';
import { sleepSync } from '../base/sleep-sync.js';
import { faultPoint } from '../base/fault.js';

/**
 * How the recording moves from one buffer to the other (measured under a 600k events/s load on 2 CPUs):
 * - stop-first (default): tracing_on=0 in the old buffer, then 1 in the new one: a gap of ~50 us
 *   (~50 events), never a duplicate.
 * - trigger: `traceoff` in the old buffer and `traceon` in the new one, both on the same tracepoint;
 *   the kernel runs both in one tracepoint call on one CPU, ~100 ns apart: no gap seen, but an event
 *   on another CPU whose probes run across that instant lands in both (seen: 1 in 5 switches).
 *   A trigger can only act on its own instance; two triggers on one tracepoint is what spans two.
 * - start-first: the reverse of stop-first: no gap, but everything in between goes to both buffers.
 */
export type SwitchMethod = 'trigger' | 'stop-first' | 'start-first';

/** The tracepoint the command-driven switch fires by renaming its own thread (also hit by every exec). */
export const SWITCH_TRACEPOINT = { system: 'task', event: 'task_rename' } as const;

export interface SwitchOptions {
  method?: SwitchMethod;
  /** Copy the old buffer's events, filters and triggers into the new one (default true). */
  copyEvents?: boolean;
}

export interface SwitchResult {
  from: string;
  to: string;
  method: SwitchMethod;
  /** Why the trigger method was not used, when it was asked for and could not be. */
  fallback?: string;
  /** Events now recorded in the new buffer. */
  events: number;
  /** User-space time from the first to the last write that moved the recording, in ns. */
  windowNs: number;
}

/**
 * A trigger op for the maskset handlers: run `command` in `instance` when the handler's event fires.
 * The handlers' trigger KernelOp; no instance means the one the maskset is applied to.
 */
export interface InstanceTriggerOp {
  readonly kind: 'trigger';
  readonly instance?: string;
  readonly command: 'traceon' | 'traceoff';
  readonly count?: number;
  readonly condition?: string;
}

/**
 * The in-kernel buffer switch on an event: traceoff in the old buffer, traceon in the new one, on the
 * same tracepoint (and with the same condition, so both triggers see the same record). The new buffer
 * must hold the events already, stopped: `prepareSwitchTarget(from, to)`. `from` undefined: the
 * instance the ops are applied to (the `switch buffer=` handler's current buffer).
 */
export function bufferSwitchOps(from: string | undefined, to: string, opts: { condition?: string; count?: number } = {}): InstanceTriggerOp[] {
  const extra = { ...(opts.count ? { count: opts.count } : {}), ...(opts.condition ? { condition: opts.condition } : {}) };
  return [
    { kind: 'trigger', ...(from !== undefined ? { instance: instanceNameOf(from) } : {}), command: 'traceoff', ...extra },
    { kind: 'trigger', instance: instanceNameOf(to), command: 'traceon', ...extra },
  ];
}

/** The `stop` handler aimed at a buffer: freeze it when the event fires. */
export function bufferStopOps(buffer: string, opts: { condition?: string; count?: number } = {}): InstanceTriggerOp[] {
  return [bufferSwitchOps(buffer, buffer, opts)[0]!];
}

function instanceNameOf(name: string): string {
  return name.startsWith('lkst-') ? name : bufferInstanceName(name);
}

export function opTriggerText(op: InstanceTriggerOp): string {
  return `${op.command}${op.count ? `:${op.count}` : ''}${op.condition ? ` if ${op.condition}` : ''}`;
}

/** Installs ops on a tracepoint (each in its own instance); returns a function that removes them. */
export function installTriggerOps(ops: readonly InstanceTriggerOp[], system: string, event: string): () => void {
  const done: { inst: Instance; cmd: string }[] = [];
  const undo = (): void => {
    for (const d of done.reverse()) {
      try {
        d.inst.removeTrigger(system, event, d.cmd);
      } catch {
        /* the instance may be gone */
      }
    }
  };
  try {
    for (const op of ops) {
      if (!op.instance) throw new LkstError(`a ${op.command} trigger op names no instance`, 'give each op the buffer it acts on');
      const inst = Instance.open(op.instance);
      inst.addTrigger(system, event, opTriggerText(op));
      done.push({ inst, cmd: op.command });
    }
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}

/**
 * Gets `to` ready to take over from `from`: stopped, with from's events, filters and triggers, and
 * from's process scope unless `to` has its own (a per-process buffer keeps its processes).
 */
export function prepareSwitchTarget(from: Instance, to: Instance): number {
  if (from.name === to.name) throw new LkstError(`${to.name} is already the recording buffer`, 'switch to another buffer');
  to.tracingOn = false;
  const set = readEventSet(from);
  applyEventSet(to, set);
  const own = pidScope(to);
  if (!own.pids.length && !own.notPids.length) {
    const theirs = pidScope(from);
    if (theirs.pids.length || theirs.notPids.length) setPidScope(to, theirs);
  }
  return set.filter((s) => s.recording).length;
}

/** Why the trigger method cannot be used between these two instances, or undefined. */
function triggerObstacle(from: Instance, to: Instance): string | undefined {
  const { system, event } = SWITCH_TRACEPOINT;
  for (const inst of [from, to]) {
    if (!inst.hasEvent(system, event)) return `this kernel has no ${system}:${event}`;
    if (!inst.has(`events/${system}/${event}/trigger`)) return 'this kernel has no event triggers';
    if (inst.triggers(system, event).some((t) => /^trace(on|off)\b/.test(t))) return `${inst.name} already has a traceon/traceoff trigger on ${system}:${event}`;
  }
  return undefined;
}

const SETTLE_MS = 20;

/** Hooking a tracepoint patches kernel code and stalls the other CPUs for up to ms: switch after that. */
function settle(): void {
  sleepSync(SETTLE_MS);
}

/** Renames the calling thread to its own name: the kernel fires task:task_rename for it. */
function fireRename(): void {
  const comm = readFileSync('/proc/self/comm', 'utf8').trim();
  writeFileSync('/proc/self/comm', comm);
}

function flipByTrigger(from: Instance, to: Instance): boolean {
  const { system, event } = SWITCH_TRACEPOINT;
  // traceoff first: an exec elsewhere in between can only stop the old buffer early (a gap), never
  // start the new one while the old one still records (a duplicate).
  const remove = installTriggerOps(bufferSwitchOps(from.name, to.name), system, event);
  try {
    settle();
    fireRename();
  } finally {
    remove();
  }
  return to.tracingOn && !from.tracingOn;
}

/** From now on what `from` recorded is recorded into `to`; `from` stops and keeps its content. */
export function switchBuffer(from: Instance, to: Instance, opts: SwitchOptions = {}): SwitchResult {
  let method = opts.method ?? 'stop-first';
  let events: number;
  if (opts.copyEvents === false) {
    if (from.name === to.name) throw new LkstError(`${to.name} is already the recording buffer`, 'switch to another buffer');
    to.tracingOn = false;
    events = readEventSet(to).filter((s) => s.recording).length;
  } else {
    events = prepareSwitchTarget(from, to);
  }
  settle();
  let fallback: string | undefined;
  if (method === 'trigger') {
    fallback = triggerObstacle(from, to);
    if (fallback) method = 'stop-first';
  }
  const t0 = process.hrtime.bigint();
  if (method === 'trigger') {
    if (!flipByTrigger(from, to)) {
      fallback = 'the switch trigger did not fire';
      method = 'stop-first';
    }
  }
  if (method === 'stop-first') {
    from.tracingOn = false;
    faultPoint('buffer-switch:flip');
    to.tracingOn = true;
  } else if (method === 'start-first') {
    to.tracingOn = true;
    from.tracingOn = false;
  }
  const windowNs = Number(process.hrtime.bigint() - t0);
  return { from: from.name, to: to.name, method, ...(fallback ? { fallback } : {}), events, windowNs };
}

/**
 * Arms a one-shot switch inside the kernel: when the tracepoint fires (and the condition holds),
 * `from` stops and `to` starts, with no lkst process running. `to` is prepared (stopped, with
 * from's events) now.
 */
export function armBufferSwitch(from: Instance, to: Instance, tp: { system: string; event: string }, opts: { condition?: string } = {}): number {
  if (!to.hasEvent(tp.system, tp.event)) throw new LkstError(`this kernel has no event ${tp.system}:${tp.event}`, 'see `lkst events --kernel`');
  const events = prepareSwitchTarget(from, to);
  installTriggerOps(bufferSwitchOps(from.name, to.name, { ...opts, count: 1 }), tp.system, tp.event);
  return events;
}

/** Removes an armed (or spent) switch between from and to on the tracepoint. */
export function disarmBufferSwitch(from: Instance, to: Instance, tp: { system: string; event: string }): void {
  for (const [inst, cmd] of [
    [from, 'traceoff'],
    [to, 'traceon'],
  ] as const) {
    if (inst.triggers(tp.system, tp.event).some((t) => t.startsWith(cmd))) inst.removeTrigger(tp.system, tp.event, cmd);
  }
}

/** An in-kernel buffer switch as the kernel holds it: a traceoff in one instance and a traceon in another, on one tracepoint. */
export interface KernelSwitch {
  readonly from: string;
  readonly to: string;
  /** system:event */
  readonly tracepoint: string;
  /** The traceon is spent (count=0): the switch fired. */
  readonly fired: boolean;
}

/** traceon/traceoff triggers of an instance, per tracepoint, with their remaining count (undefined: unlimited). */
function onOffTriggers(inst: Instance): { tp: string; command: 'traceon' | 'traceoff'; count?: number }[] {
  const out: { tp: string; command: 'traceon' | 'traceoff'; count?: number }[] = [];
  let hooked: string[];
  try {
    hooked = inst.enabledEvents(); // an event with a trigger is hooked, so it is listed here
  } catch {
    return out; // removed under us
  }
  for (const tp of hooked) {
    const [system, event] = tp.split(':') as [string, string];
    for (const line of inst.triggers(system, event)) {
      const m = /^(traceon|traceoff)(?::count=(\d+))?/.exec(line);
      if (m) out.push({ tp, command: m[1] as 'traceon' | 'traceoff', ...(m[2] !== undefined ? { count: Number(m[2]) } : {}) });
    }
  }
  return out;
}

/**
 * The buffer switches armed in the kernel (`lkst buffer switch --on`, `switch buffer=` handlers)
 * among these instances, read back from their trigger files: whether one fired is the kernel's
 * word (its traceon spent), not lkst's memory.
 */
export function kernelSwitches(instances: readonly Instance[]): KernelSwitch[] {
  const triggers = instances.map((inst) => ({ inst, t: onOffTriggers(inst) }));
  const out: KernelSwitch[] = [];
  for (const a of triggers) {
    for (const off of a.t.filter((x) => x.command === 'traceoff')) {
      for (const b of triggers) {
        if (b.inst.name === a.inst.name) continue;
        const on = b.t.find((x) => x.command === 'traceon' && x.tp === off.tp);
        if (on) out.push({ from: a.inst.name, to: b.inst.name, tracepoint: off.tp, fired: on.count === 0 || (on.count === undefined && b.inst.tracingOn && !a.inst.tracingOn) });
      }
    }
  }
  return out;
}
