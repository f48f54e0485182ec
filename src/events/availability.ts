/** Which of the catalog's tracepoints one kernel has. */
import { LKST_EVENTS, catalogTracepointIds, type LkstEvent, type TracepointRef } from './catalog.js';

export interface EventAvailability {
  readonly event: LkstEvent;
  /** Index of the alternative in use, -1 when this kernel has none of them. */
  readonly alternative: number;
  /** The tracepoints to enable for the event on this kernel (present members of that alternative). */
  readonly tracepoints: readonly TracepointRef[];
  /** Every tracepoint the catalog lists for the event, and whether this kernel has it. */
  readonly present: ReadonlyMap<string, boolean>;
  readonly available: boolean;
}

export function eventAvailability(event: LkstEvent, available: ReadonlySet<string>): EventAvailability {
  const present = new Map(catalogTracepointIds(event).map((id) => [id, available.has(id)]));
  const alternative = event.alternatives.findIndex((alt) => alt.some((ref) => available.has(ref.id)));
  const tracepoints = alternative < 0 ? [] : event.alternatives[alternative]!.filter((ref) => available.has(ref.id));
  return { event, alternative, tracepoints, present, available: tracepoints.length > 0 };
}

/** Per LKST event, which of its tracepoints this kernel has; in catalog order. */
export function catalogAvailability(available: ReadonlySet<string>, events: readonly LkstEvent[] = LKST_EVENTS): EventAvailability[] {
  return events.map((e) => eventAvailability(e, available));
}
