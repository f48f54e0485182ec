import { ALL_EVENT_NAMES, CATEGORIES, CATEGORY_TITLES, DEFAULT_EVENT_NAMES, eventsInCategory, lkstEvent } from '../events/catalog.js';
import type { Maskset } from './model.js';

// LKST events no kernel has a tracepoint for stay out, so built-ins apply anywhere without skipping.
const traceable = (name: string): boolean => (lkstEvent(name)?.alternatives.length ?? 0) > 0;

function recordAll(name: string, description: string, events: readonly string[]): Maskset {
  const where = `built-in maskset ${name}`;
  // Built-ins mean "all of these this kernel has": an event it lacks is left out and listed, never refused.
  return { name, description, includes: [], source: 'built-in', entries: events.filter(traceable).map((event) => ({ event, handler: 'record', params: {}, where, ifPresent: true })) };
}

/** off, default (the seed's DEF: every LKST event but locks), all, and one per LKST category. */
export function builtinMasksets(): Maskset[] {
  return [
    recordAll('off', 'nothing is traced', []),
    recordAll('default', "every LKST event except locks (LKST's DEF)", DEFAULT_EVENT_NAMES),
    recordAll('all', 'every LKST event', ALL_EVENT_NAMES),
    ...CATEGORIES.map((c) => recordAll(c, `the LKST ${CATEGORY_TITLES[c]} events`, eventsInCategory(c).map((e) => e.name))),
  ];
}

export function builtinMaskset(name: string): Maskset | undefined {
  return builtinMasksets().find((m) => m.name === name);
}
