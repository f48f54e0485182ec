import { readdirSync } from 'node:fs';
import type { Instance } from '../tracefs/instance.js';
import { andFilters } from '../masksets/plan.js';

/**
 * The kernel's TRACE_FLAG_HARDIRQ | TRACE_FLAG_SOFTIRQ | TRACE_FLAG_NMI (include/linux/trace_events.h,
 * unchanged since 4.x, 6.18 included): set in common_flags when the event fired in interrupt context.
 */
export const INTERRUPT_FLAGS = 0x08 | 0x10 | 0x40;

/**
 * Keeps every event but those our own tasks make in task context. An interrupt or softirq that
 * happens while one of them is current carries its pid too, but is someone else's: the flags keep it
 * (set_event_notrace_pid cannot tell them apart and drops it).
 */
export function leaveOutFilter(pids: readonly number[]): string {
  const notOurs = pids.map((p) => `common_pid != ${p}`).join(' && ');
  return `(${notOurs}) || (common_flags & 0x${INTERRUPT_FLAGS.toString(16)})`;
}

/** Every thread of this process (Node's helper threads are tasks of their own to the kernel). */
export function ownThreads(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number).filter((n) => n > 0);
  } catch {
    return [process.pid];
  }
}

/**
 * ANDs each event's filter (a maskset's, an -f) with leaveOutFilter, where a setup has not already.
 * Returns the events the kernel refused it on (they record as before).
 */
export function leaveOut(inst: Instance, events: readonly { system: string; event: string }[], pids: readonly number[]): string[] {
  const refused: string[] = [];
  if (!pids.length) return refused;
  const ours = leaveOutFilter(pids);
  for (const e of events) if (!filterWithout(inst, e, inst.filter(e.system, e.event), ours)) refused.push(`${e.system}:${e.event}`);
  return refused;
}

/**
 * Sets an event's filter to its own (now) ANDed with `ours` (a leaveOutFilter), unless it has it
 * already; false when the kernel refuses it (the event then keeps `now`).
 */
export function filterWithout(inst: Instance, e: { system: string; event: string }, now: string, ours: string): boolean {
  try {
    if (!now.includes(ours)) inst.setFilter(e.system, e.event, andFilters([now, ours]));
    return true;
  } catch {
    return false;
  }
}
