import { ALL_EVENT_NAMES, CATEGORIES, CATEGORY_TITLES, DEFAULT_EVENT_NAMES, eventsInCategory, exitTracepoints, lkstEvent, catalogTracepointIds } from '../events/catalog.js';
import { orFilters } from './plan.js';
import type { Maskset, MasksetEntry } from './model.js';

// LKST events no kernel has a tracepoint for stay out, so built-ins apply anywhere without skipping.
const traceable = (name: string): boolean => (lkstEvent(name)?.alternatives.length ?? 0) > 0;

/**
 * The exits of the events' interval entries (irq_handler_exit for irq_handler_entry...), so what
 * the built-ins record can be timed; one entry per exit tracepoint, its filters ORed.
 */
function exitEntries(events: readonly string[], where: string): MasksetEntry[] {
  const filters = new Map<string, string[]>();
  const recorded = new Set(events.flatMap((name) => catalogTracepointIds(lkstEvent(name)!)));
  for (const name of events) {
    for (const x of exitTracepoints(lkstEvent(name)!)) if (!recorded.has(x.id)) filters.set(x.id, [...(filters.get(x.id) ?? []), x.filter ?? '']);
  }
  return [...filters].map(([event, fs]): MasksetEntry => {
    const expr = orFilters(fs);
    return expr ? { event, handler: 'filter', params: { expr }, where, ifPresent: true } : { event, handler: 'record', params: {}, where, ifPresent: true };
  });
}

function recordAll(name: string, description: string, events: readonly string[]): Maskset {
  const where = `built-in maskset ${name}`;
  const names = events.filter(traceable);
  // Built-ins mean "all of these this kernel has": an event it lacks is left out and listed, never refused.
  const entries: MasksetEntry[] = [...names.map((event) => ({ event, handler: 'record', params: {}, where, ifPresent: true })), ...exitEntries(names, where)];
  return { name, description, includes: [], source: 'built-in', entries };
}

/**
 * The seed's timer-after-free caught live (issue 15): the built-in BPF C handler uaf-live
 * (examples/handlers/timer-uaf.bpf.c) on the kmalloc, kfree and timer events, recording them all
 * into the buffer bpf (history=1), a flight recorder it freezes at the alert `lkst watch` prints.
 */
function uafLive(): Maskset {
  const where = 'built-in maskset uaf-live';
  const events = ['kmem:kmalloc', 'kmem:kfree', 'timer:timer_start', 'timer:timer_expire_entry'];
  return { name: 'uaf-live', description: 'a timer armed or firing in freed kmalloc memory: alert (lkst watch) and freeze the flight recorder (BPF)', includes: [], source: 'built-in', entries: events.map((event) => ({ event, handler: 'uaf-live', params: { history: '1' }, where })) };
}

/** off, default (the seed's DEF: every LKST event but locks), all, one per LKST category, and uaf-live. */
export function builtinMasksets(): Maskset[] {
  return [
    recordAll('off', 'nothing is traced', []),
    recordAll('default', "every LKST event except locks (LKST's DEF)", DEFAULT_EVENT_NAMES),
    recordAll('all', 'every LKST event', ALL_EVENT_NAMES),
    ...CATEGORIES.map((c) => recordAll(c, `the LKST ${CATEGORY_TITLES[c]} events`, eventsInCategory(c).map((e) => e.name))),
    uafLive(),
  ];
}

export function builtinMaskset(name: string): Maskset | undefined {
  return builtinMasksets().find((m) => m.name === name);
}
