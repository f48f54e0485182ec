import type { Instance } from '../tracefs/instance.js';
import { splitTracepointId } from '../events/resolve.js';

export interface LiveTrigger {
  /** stacktrace, traceoff, enable_event:S:E ... */
  readonly command: string;
  /** Remaining count; undefined = unlimited. */
  readonly count?: number;
  readonly condition: string;
  /** The line as the kernel shows it. */
  readonly text: string;
}

export interface LiveTracepoint {
  readonly id: string;
  /** Recorded into the buffer now. */
  readonly recording: boolean;
  /** The tracepoint is hooked (registered) because a trigger refers to it, recorded or not. */
  readonly softMode: boolean;
  readonly filter: string;
  readonly triggers: readonly LiveTrigger[];
}

/** What the kernel really does in one instance, read back from tracefs (never from lkst's own state). */
export interface LiveState {
  readonly tracepoints: ReadonlyMap<string, LiveTracepoint>;
  readonly pids: readonly number[];
  readonly follow: boolean;
  readonly tracingOn: boolean;
}

/** Parses a trigger line: "enable_event:sched:sched_switch:count=1 if pid == 3". */
export function parseTriggerLine(text: string): LiveTrigger {
  const ifAt = text.indexOf(' if ');
  const head = (ifAt < 0 ? text : text.slice(0, ifAt)).trim();
  const condition = ifAt < 0 ? '' : text.slice(ifAt + 4).trim();
  const m = /^(.*?)(?::(unlimited|count=(\d+)))?$/.exec(head)!;
  return { command: m[1]!, ...(m[3] !== undefined ? { count: Number(m[3]) } : {}), condition, text };
}

function readTracepoint(inst: Instance, id: string): LiveTracepoint {
  const { system, event } = splitTracepointId(id);
  const enable = inst.read(`${inst.eventDir(system, event)}/enable`).trim();
  return {
    id,
    recording: enable.startsWith('1'),
    softMode: enable.includes('*'),
    filter: inst.filter(system, event),
    triggers: inst.triggers(system, event).map(parseTriggerLine),
  };
}

/**
 * Reads an instance's events: every event in set_event (recorded or hooked by a trigger) and the
 * extra ones asked for (to see filters set ahead on events that are off).
 */
export function readLiveState(inst: Instance, extra: Iterable<string> = []): LiveState {
  const ids = new Set(inst.enabledEvents());
  for (const id of extra) {
    const { system, event } = splitTracepointId(id);
    if (inst.hasEvent(system, event)) ids.add(id);
  }
  const tracepoints = new Map<string, LiveTracepoint>();
  for (const id of ids) tracepoints.set(id, readTracepoint(inst, id));
  return {
    tracepoints,
    pids: inst.eventPids(),
    follow: inst.has('options/event-fork') && inst.read('options/event-fork').trim() === '1',
    tracingOn: inst.tracingOn,
  };
}
