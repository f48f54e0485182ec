/** `-e` names (LKST names, system:event, globs) turned into the set of event ids of one trace. */
import type { EventRegistry } from '../../events/registry.js';
import { resolveEvents } from '../../events/resolve.js';

export function eventIdsFor(names: readonly string[], registry: EventRegistry): Set<number> {
  const available = new Set(registry.all().map((f) => `${f.system}:${f.name}`));
  const ids = new Set<number>();
  for (const tp of resolveEvents(names, available)) {
    const f = registry.find(tp.system, tp.event);
    if (f) ids.add(f.id);
  }
  return ids;
}
