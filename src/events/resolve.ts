/**
 * Turns the event names people type into the kernel's tracepoints. Accepted forms:
 * LKST names (any case), LKST globs (`MEM_*`), `default`/`DEF`, `all`, a category (`memory` or
 * `category:memory`), `system:event`, globs over it (`sched:*`, `*:kfree`), and a bare event name
 * that only one system has (`sched_switch`). A comma separates several names in one string.
 */
import { LkstError } from '../base/errors.js';
import { eventAvailability } from './availability.js';
import {
  ALL_EVENT_NAMES,
  CATEGORIES,
  DEFAULT_EVENT_NAMES,
  LKST_EVENTS,
  eventsInCategory,
  isCategory,
  lkstEvent,
  type LkstEvent,
} from './catalog.js';
import { closestNames, type Candidate } from './closest-names.js';
import { globToRegExp, hasGlob } from './name-glob.js';

export interface ResolvedTracepoint {
  readonly system: string;
  readonly event: string;
  /** "system:event". */
  readonly id: string;
  /** The LKST events it was selected for; empty when it was named only as a tracepoint. */
  readonly lkst: readonly string[];
  /** The names, as given, that selected it. */
  readonly requestedAs: readonly string[];
  /** Kernel filter to apply; absent when every occurrence is wanted. */
  readonly filter?: string;
}

/** An LKST event that was asked for but has no tracepoint on this kernel. */
export interface UnavailableEvent {
  readonly name: string;
  readonly reason: string;
}

export interface EventSelection {
  readonly tracepoints: ResolvedTracepoint[];
  readonly unavailable: UnavailableEvent[];
}

type Expansion = { readonly lkst: readonly LkstEvent[] } | { readonly tracepoints: readonly string[] };

const LISTING_HINT = '`lkst events` lists the LKST events, `lkst events --kernel` the tracepoints of this kernel';

export function splitTracepointId(id: string): { system: string; event: string } {
  const colon = id.indexOf(':');
  return { system: id.slice(0, colon), event: id.slice(colon + 1) };
}

/** The concrete tracepoints behind the names; LKST events this kernel cannot trace are left out. */
export function resolveEvents(names: readonly string[], available: ReadonlySet<string>): ResolvedTracepoint[] {
  return resolveEventSet(names, available).tracepoints;
}

/** Like resolveEvents, and also lists the LKST events left out for want of a tracepoint. */
export function resolveEventSet(names: readonly string[], available: ReadonlySet<string>): EventSelection {
  const picked = new Map<string, { lkst: Set<string>; requestedAs: Set<string>; filters: Set<string> | 'all' }>();
  const unavailable = new Map<string, UnavailableEvent>();

  const pick = (id: string, requestedAs: string, lkstName?: string, filter?: string): void => {
    let entry = picked.get(id);
    if (!entry) picked.set(id, (entry = { lkst: new Set(), requestedAs: new Set(), filters: new Set() }));
    entry.requestedAs.add(requestedAs);
    if (lkstName) entry.lkst.add(lkstName);
    if (filter === undefined) entry.filters = 'all';
    else if (entry.filters !== 'all') entry.filters.add(filter);
  };

  for (const name of splitNameLists(names)) {
    const expansion = expandName(name, available);
    if ('tracepoints' in expansion) {
      for (const id of expansion.tracepoints) pick(id, name);
      continue;
    }
    for (const event of expansion.lkst) {
      const availability = eventAvailability(event, available);
      if (!availability.available) {
        unavailable.set(event.name, { name: event.name, reason: unavailableReason(event) });
        continue;
      }
      for (const ref of availability.tracepoints) pick(ref.id, name, event.name, ref.filter);
    }
  }

  const tracepoints = [...picked].map(([id, entry]): ResolvedTracepoint => {
    const filter = entry.filters === 'all' ? undefined : combineFilters([...entry.filters]);
    return {
      ...splitTracepointId(id),
      id,
      lkst: [...entry.lkst],
      requestedAs: [...entry.requestedAs],
      ...(filter === undefined ? {} : { filter }),
    };
  });
  return { tracepoints, unavailable: [...unavailable.values()] };
}

/** "a,b" is two names (as with trace-cmd -e); no event name contains a comma. */
function splitNameLists(names: readonly string[]): string[] {
  return names.flatMap((n) => (n.includes(',') ? n.split(',').map((part) => part.trim()).filter(Boolean) : [n]));
}

function combineFilters(filters: string[]): string {
  return filters.length === 1 ? filters[0]! : filters.map((f) => `(${f})`).join(' || ');
}

function unavailableReason(event: LkstEvent): string {
  if (event.alternatives.length === 0) return event.note ?? 'the kernel has no equivalent';
  const ids = [...new Set(event.alternatives.flat().map((ref) => ref.id))];
  return `this kernel has none of ${ids.join(', ')}${event.note ? ` (${event.note})` : ''}`;
}

/** What one name stands for: LKST events, or tracepoints named directly. Throws LkstError if nothing. */
export function expandName(rawName: string, available: ReadonlySet<string>): Expansion {
  const name = rawName.trim();
  if (!name) throw new LkstError('empty event name', `name an LKST event, a category or SYSTEM:EVENT; ${LISTING_HINT}`);

  const colon = name.indexOf(':');
  if (colon >= 0) {
    const prefix = name.slice(0, colon);
    if (prefix.toLowerCase() === 'category') {
      const category = name.slice(colon + 1).toLowerCase();
      if (isCategory(category)) return { lkst: eventsInCategory(category) };
      throw unknownName(name, CATEGORIES.map((c) => ({ name: `category:${c}` })), 'category');
    }
    if (hasGlob(name)) {
      const pattern = globToRegExp(name);
      const ids = [...available].filter((id) => pattern.test(id)).sort();
      if (ids.length === 0) throw unknownName(name, suggestionPool(available), 'tracepoint pattern');
      return { tracepoints: ids };
    }
    if (available.has(name)) return { tracepoints: [name] };
    throw unknownName(name, suggestionPool(available), 'tracepoint');
  }

  const upper = name.toUpperCase();
  if (upper === 'DEFAULT' || upper === 'DEF') return { lkst: DEFAULT_EVENT_NAMES.map((n) => lkstEvent(n)!) };
  if (upper === 'ALL') return { lkst: ALL_EVENT_NAMES.map((n) => lkstEvent(n)!) };
  const event = lkstEvent(name);
  if (event) return { lkst: [event] };

  if (hasGlob(name)) {
    const pattern = globToRegExp(name, true);
    const events = LKST_EVENTS.filter((e) => pattern.test(e.name));
    if (events.length > 0) return { lkst: events };
    const eventPattern = globToRegExp(name);
    const ids = [...available].filter((id) => eventPattern.test(splitTracepointId(id).event)).sort();
    if (ids.length > 0) return { tracepoints: ids };
    throw unknownName(name, suggestionPool(available), 'event pattern');
  }

  const sameEventName = [...available].filter((id) => splitTracepointId(id).event === name).sort();
  const category = name.toLowerCase();
  if (isCategory(category)) {
    if (sameEventName.length > 0) {
      throw new LkstError(
        `"${name}" is both an LKST category and a tracepoint (${sameEventName.join(', ')})`,
        `write category:${category} or SYSTEM:${name}`,
      );
    }
    return { lkst: eventsInCategory(category) };
  }
  if (sameEventName.length === 1) return { tracepoints: sameEventName };
  if (sameEventName.length > 1) {
    throw new LkstError(`"${name}" is a tracepoint of several systems (${sameEventName.join(', ')})`, 'name it as SYSTEM:EVENT');
  }
  throw unknownName(name, suggestionPool(available), 'event');
}

function suggestionPool(available: ReadonlySet<string>): Candidate[] {
  const pool: Candidate[] = LKST_EVENTS.map((e) => ({ name: e.name }));
  for (const c of CATEGORIES) pool.push({ name: c }, { name: `category:${c}` });
  pool.push({ name: 'default' }, { name: 'all' });
  const systems = new Set<string>();
  for (const id of available) {
    const { system, event } = splitTracepointId(id);
    systems.add(system);
    pool.push({ name: id, aliases: [event] });
  }
  for (const system of systems) pool.push({ name: `${system}:*`, aliases: [system] });
  return pool;
}

function unknownName(name: string, pool: Candidate[], what: string): LkstError {
  const near = closestNames(name, pool);
  const fix = near.length > 0 ? `did you mean ${near.join(', ')}? ${LISTING_HINT}` : LISTING_HINT;
  return new LkstError(`unknown ${what} "${name}"`, fix);
}
