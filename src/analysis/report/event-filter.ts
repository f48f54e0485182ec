/**
 * `-e` names (LKST names, system:event, globs) turned into the event ids of one trace, with the
 * filter that narrows a tracepoint to an LKST event where the catalog has one.
 */
import { compileFilter, type RecordFilter } from '../../events/printfmt/filter.js';
import type { EventRegistry } from '../../events/registry.js';
import { resolveEvents } from '../../events/resolve.js';
import { isProbeSpec, probeEventGlob } from '../../probes/spec.js';
import { LkstError } from '../../base/errors.js';

/** Event id → filter (null: every record of the event). */
export type EventSelection = Map<number, RecordFilter | null>;

export function eventSelection(names: readonly string[], registry: EventRegistry): EventSelection {
  const available = new Set(registry.all().map((f) => `${f.system}:${f.name}`));
  const out: EventSelection = new Map();
  // A probe spec finds its events whichever lkst made them (their group has its pid).
  for (const tp of resolveEvents(names.map((n) => (isProbeSpec(n) ? probeEventGlob(n) : n)), available)) {
    const f = registry.find(tp.system, tp.event);
    if (!f) continue;
    if (!tp.filter) {
      out.set(f.id, null);
      continue;
    }
    try {
      out.set(f.id, compileFilter(f, tp.filter));
    } catch (err) {
      throw new LkstError(`cannot apply the filter of ${tp.lkst.join(', ') || tp.id} to this file (${(err as Error).message})`, 'name the tracepoint instead (system:event)');
    }
  }
  return out;
}
