import type { Instance } from '../tracefs/instance.js';

/** One tracepoint of an instance: recorded or only hooked by a trigger, its filter and triggers. */
export interface EventSetting {
  system: string;
  event: string;
  recording: boolean;
  filter: string;
  /** Trigger lines as the kernel takes them ("traceoff:2 if pid == 3"). */
  triggers: string[];
}

/** The kernel shows "cmd:count=N if c" / "cmd:unlimited"; it takes "cmd:N if c" / "cmd". A spent count is undefined. */
export function triggerInput(shown: string): string | undefined {
  const ifAt = shown.indexOf(' if ');
  const head = (ifAt < 0 ? shown : shown.slice(0, ifAt)).trim();
  const cond = ifAt < 0 ? '' : shown.slice(ifAt);
  const m = /^(.*?)(?::(unlimited|count=(\d+)))?$/.exec(head)!;
  if (m[3] === '0') return undefined;
  return `${m[1]}${m[3] ? `:${m[3]}` : ''}${cond}`;
}

/** What an instance records now: every event of set_event (recorded or soft-enabled by a trigger). */
export function readEventSet(inst: Instance): EventSetting[] {
  return inst.enabledTracepoints().map(({ system, event }) => {
    return {
      system,
      event,
      recording: inst.isEventEnabled(system, event),
      filter: inst.filter(system, event),
      triggers: inst.triggers(system, event).map(triggerInput).filter((t): t is string => t !== undefined),
    };
  });
}

/** Removes every trigger and turns every event off. */
export function clearEventSet(inst: Instance): void {
  for (const { system, event } of inst.enabledTracepoints()) {
    for (const t of inst.triggers(system, event)) inst.removeTrigger(system, event, t.replace(/ if .*$/, ''));
  }
  inst.write('set_event', '\n');
}

/**
 * Makes inst record exactly the given set. Filters go first and triggers last, so an event never
 * records unfiltered and no trigger fires before the events it enables are set up.
 */
export function applyEventSet(inst: Instance, set: readonly EventSetting[]): void {
  clearEventSet(inst);
  for (const s of set) inst.setFilter(s.system, s.event, s.filter);
  for (const s of set) if (s.recording) inst.setEventEnabled(s.system, s.event, true);
  for (const s of set) for (const t of s.triggers) inst.addTrigger(s.system, s.event, t);
}
