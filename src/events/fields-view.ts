/** `lkst events --fields NAME`: each tracepoint's fields and print format, as `trace-cmd list -e -F` shows them. */
import type { EventFormat, Field } from './format.js';
import { readLiveFormat } from './live.js';
import { resolveEventSet } from './resolve.js';
import type { TracefsDir } from '../tracefs/tracefs.js';

export interface EventFields {
  id: string;
  /** The LKST events it was selected for; empty when named as a tracepoint. */
  lkst: readonly string[];
  format: EventFormat;
}

/** The formats behind the names (LKST names, system:event, globs); unknown names throw the resolver's one-line error. */
export function eventFields(names: readonly string[], available: ReadonlySet<string>, top?: TracefsDir): EventFields[] {
  const { tracepoints } = resolveEventSet(names, available);
  return tracepoints
    .map((t) => ({ id: t.id, lkst: t.lkst, format: readLiveFormat(t.system, t.event, top) }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The C declaration's type with its array part, e.g. "char[16]", "__data_loc char[]". */
export function fieldType(f: Field): string {
  const loc = f.dynamic === 'none' ? '' : `__${f.dynamic} `;
  const arr = f.arrayLen > 0 ? `[${f.arrayLen}]` : f.arrayLen === 0 ? '[]' : '';
  return `${loc}${f.type}${arr}`;
}

export function renderEventFields(list: readonly EventFields[]): string {
  return list.map(renderOne).join('\n');
}

function renderOne({ id, lkst, format }: EventFields): string {
  const rows = [['field', 'type', 'offset', 'size', 'signed']];
  for (const f of [...format.commonFields, ...format.fields]) rows.push([f.name, fieldType(f), String(f.offset), String(f.size), f.signed ? 'yes' : 'no']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const numeric = new Set([2, 3]);
  const table = rows.map((r) => `  ${r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()}`);
  const head = `${id} (id ${format.id})${lkst.length ? `  ${lkst.join(', ')}` : ''}`;
  return [head, ...table, `  print fmt: ${format.printFmt}`, ''].join('\n');
}
