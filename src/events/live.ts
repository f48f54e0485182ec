import { type TracefsDir, tracefs } from '../tracefs/tracefs.js';
import { parseFormat, type EventFormat } from './format.js';

/** "system:event" for every event this kernel offers, from available_events. */
export function availableEvents(top: TracefsDir = tracefs()): Set<string> {
  return new Set(top.read('available_events').split('\n').filter(Boolean));
}

/** Reads and parses one event's format from the running kernel. */
export function readLiveFormat(system: string, event: string, top: TracefsDir = tracefs()): EventFormat {
  return parseFormat(top.read(`events/${system}/${event}/format`), system);
}

export function readHeaderPage(top: TracefsDir = tracefs()): string {
  return top.read('events/header_page');
}

export function readHeaderEvent(top: TracefsDir = tracefs()): string {
  return top.read('events/header_event');
}
