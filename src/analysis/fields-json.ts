/** Each event type's fields as JSON object text, compiled once per format (the report's encoder). */
import type { TraceEvent } from './event.js';
import type { EventRegistry } from '../events/registry.js';
import { compileFieldsJson } from './report/json-fields.js';

export function fieldsJsonOf(reg: EventRegistry): (ev: TraceEvent) => string {
  const compiled = new Map<number, (b: Buffer, o: number, l: number) => string>();
  for (const fmt of reg.all()) compiled.set(fmt.id, compileFieldsJson(fmt));
  return (ev) => compiled.get(ev.id)?.(ev.buf, ev.off, ev.len) ?? '{}';
}

/** system:name of the record's event. */
export function eventName(ev: TraceEvent): string {
  return ev.fmt ? `${ev.fmt.system}:${ev.fmt.name}` : `unknown-${ev.id}`;
}
