/** Text renderings behind `lkst events` and `lkst events --kernel [GLOB]`; pure, the CLI prints them. */
import { LkstError } from '../base/errors.js';
import { catalogAvailability, type EventAvailability } from './availability.js';
import { CATEGORIES, CATEGORY_TITLES, DEFAULT_EVENT_NAMES, LKST_EVENTS, type TracepointRef } from './catalog.js';
import { closestNames } from './closest-names.js';
import { globToRegExp, hasGlob } from './name-glob.js';
import { splitTracepointId } from './resolve.js';

const FIDELITY_LABEL = { exact: 'note', approximate: 'approximate', none: 'no equivalent' } as const;

/** The LKST catalog by category: each event, whether this kernel can trace it, its tracepoints and notes. */
export function renderCatalog(available: ReadonlySet<string>): string {
  const rows = catalogAvailability(available);
  const nameWidth = Math.max(...LKST_EVENTS.map((e) => e.name.length));
  const out: string[] = [];
  for (const category of CATEGORIES) {
    const inDefault = category !== 'lock';
    out.push(`${category} (${CATEGORY_TITLES[category]})${inDefault ? '' : ' [not in the default set]'}`);
    for (const row of rows.filter((r) => r.event.category === category)) out.push(...renderEventRow(row, nameWidth));
    out.push('');
  }
  const usable = rows.filter((r) => r.available).length;
  const usableDefault = rows.filter((r) => r.available && DEFAULT_EVENT_NAMES.includes(r.event.name)).length;
  out.push(
    `${usable} of ${rows.length} LKST events can be traced on this kernel ` +
      `(${usableDefault} of ${DEFAULT_EVENT_NAMES.length} in the default set). "(absent)": this kernel lacks that tracepoint.`,
  );
  return out.join('\n') + '\n';
}

/** One catalog entry as plain data, for `lkst events --json`. */
export interface CatalogRow {
  name: string;
  category: string;
  description: string;
  fidelity: string;
  inDefault: boolean;
  available: boolean;
  /** The tracepoints used on this kernel. */
  tracepoints: string[];
  alternatives: { id: string; filter?: string; present: boolean }[][];
  note?: string;
}

export function catalogRows(available: ReadonlySet<string>): CatalogRow[] {
  return catalogAvailability(available).map((row) => ({
    name: row.event.name,
    category: row.event.category,
    description: row.event.description,
    fidelity: row.event.fidelity,
    inDefault: DEFAULT_EVENT_NAMES.includes(row.event.name),
    available: row.available,
    tracepoints: row.tracepoints.map((ref) => ref.id),
    alternatives: row.event.alternatives.map((alt) => alt.map((ref) => ({ ...ref, present: row.present.get(ref.id) ?? false }))),
    ...(row.event.note ? { note: row.event.note } : {}),
  }));
}

function renderEventRow(row: EventAvailability, nameWidth: number): string[] {
  const { event } = row;
  const lines = [`  ${event.name.padEnd(nameWidth)}  ${row.available ? 'yes' : 'no '}  ${event.description}`];
  const indent = ' '.repeat(nameWidth + 9);
  if (event.alternatives.length > 0) {
    const alternatives = event.alternatives.map((alt) => alt.map((ref) => renderRef(ref, row.present.get(ref.id) ?? false)).join(', '));
    lines.push(`${indent}tracepoints: ${alternatives.join('; else ')}`);
  }
  if (event.note) lines.push(`${indent}${FIDELITY_LABEL[event.fidelity]}: ${event.note}`);
  return lines;
}

function renderRef(ref: TracepointRef, present: boolean): string {
  return `${ref.id}${ref.filter ? ` if ${ref.filter}` : ''}${present ? '' : ' (absent)'}`;
}

/**
 * This kernel's tracepoints matching a glob, sorted, each with the LKST events it carries.
 * A glob without ':' is matched against the system, the event name and the whole "system:event".
 */
export function renderKernelTracepoints(available: ReadonlySet<string>, glob?: string): string {
  const ids = matchTracepoints(available, glob);
  const carriers = lkstEventsByTracepoint(available);
  const width = Math.max(...ids.map((id) => id.length));
  const lines = ids.map((id) => {
    const lkst = carriers.get(id) ?? [];
    return lkst.length > 0 ? `${id.padEnd(width)}  ${lkst.join(', ')}` : id;
  });
  return lines.join('\n') + '\n';
}

/** tracepoint id → the LKST events that use it on this kernel (fallback alternatives not in use excluded). */
function lkstEventsByTracepoint(available: ReadonlySet<string>): Map<string, string[]> {
  const carriers = new Map<string, string[]>();
  for (const row of catalogAvailability(available)) {
    for (const ref of row.tracepoints) {
      const names = carriers.get(ref.id) ?? [];
      if (!names.includes(row.event.name)) names.push(row.event.name);
      carriers.set(ref.id, names);
    }
  }
  return carriers;
}

/** The tracepoint ids a listing glob selects; throws LkstError, with suggestions, when none. */
export function matchTracepoints(available: ReadonlySet<string>, glob?: string): string[] {
  const all = [...available].sort();
  if (glob === undefined || glob === '') {
    if (all.length === 0) throw new LkstError('this kernel lists no tracepoints', 'check that tracefs is mounted and the kernel has CONFIG_TRACEPOINTS');
    return all;
  }
  const pattern = globToRegExp(glob);
  const matches = glob.includes(':')
    ? all.filter((id) => pattern.test(id))
    : all.filter((id) => {
        const { system, event } = splitTracepointId(id);
        return pattern.test(id) || pattern.test(system) || pattern.test(event);
      });
  if (matches.length > 0) return matches;
  const near = hasGlob(glob) ? [] : closestNames(glob, all.map((id) => ({ name: id, aliases: [splitTracepointId(id).event] })));
  const hint = 'globs use * and ?, e.g. sched:* or *alloc*';
  throw new LkstError(`no tracepoint of this kernel matches "${glob}"`, near.length > 0 ? `did you mean ${near.join(', ')}? ${hint}` : hint);
}
