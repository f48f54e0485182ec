/**
 * Events as tables: one table per event type (its fields as columns), an `events` table of every
 * record, and the column types SQL and the exporters use.
 */
import type { EventFormat, Field } from '../../events/format.js';
import type { EventRegistry } from '../../events/registry.js';
import type { TraceEvent } from '../event.js';
import { syscallName } from '../sched-model.js';

export type ColumnType = 'BIGINT' | 'UBIGINT' | 'INTEGER' | 'VARCHAR';

export interface Column {
  name: string;
  type: ColumnType;
  /** The value of this column for the record under the cursor. */
  get(ev: TraceEvent, comm: string): number | bigint | string;
}

/** The columns every per-event table starts with. */
export const COMMON_COLUMNS: Column[] = [
  { name: 'ts', type: 'BIGINT', get: (ev) => ev.ts },
  { name: 'cpu', type: 'INTEGER', get: (ev) => ev.cpu },
  // The buffer (tracefs instance) the record was in; '' for the top-level buffer.
  { name: 'buffer', type: 'VARCHAR', get: (ev) => ev.buffer },
  { name: 'common_pid', type: 'INTEGER', get: (ev) => ev.pid },
  { name: 'comm', type: 'VARCHAR', get: (_ev, comm) => comm },
];

function arrayText(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return '[' + v.map((x) => (typeof x === 'bigint' ? '0x' + x.toString(16) : String(x))).join(',') + ']';
  return String(v);
}

export function fieldColumn(f: Field, name = f.name): Column {
  if (f.isString) return { name, type: 'VARCHAR', get: (ev) => ev.str(f) };
  if (f.arrayLen >= 0 || f.dynamic !== 'none') return { name, type: 'VARCHAR', get: (ev) => arrayText(ev.value(f)) };
  if (f.size === 8) return f.signed ? { name, type: 'BIGINT', get: (ev) => ev.big(f) } : { name, type: 'UBIGINT', get: (ev) => ev.big(f) };
  if (f.size === 4 && !f.signed) return { name, type: 'BIGINT', get: (ev) => ev.num(f) };
  return { name, type: 'INTEGER', get: (ev) => ev.num(f) };
}

/** Common columns, then the event's own fields (renamed field_X where a name is taken). */
export function eventColumns(fmt: EventFormat): Column[] {
  const taken = new Set(COMMON_COLUMNS.map((c) => c.name));
  const cols = [...COMMON_COLUMNS];
  for (const f of fmt.fields) {
    const name = taken.has(f.name) ? `field_${f.name}` : f.name;
    taken.add(name);
    cols.push(fieldColumn(f, name));
  }
  // raw_syscalls carry only the number: a name column for it (x86_64 table, as state and latency use).
  const nr = fmt.system === 'raw_syscalls' ? fmt.fieldByName.get('id') : undefined;
  if (nr) cols.push({ name: taken.has('name') ? 'syscall_name' : 'name', type: 'VARCHAR', get: (ev) => syscallName(ev.num(nr)) });
  return cols;
}

/** SQL-safe table names: the event name, or system_name where two systems share a name. */
export function tableNames(reg: EventRegistry): Map<string, EventFormat> {
  const count = new Map<string, number>();
  for (const f of reg.all()) count.set(f.name, (count.get(f.name) ?? 0) + 1);
  const out = new Map<string, EventFormat>();
  for (const f of reg.all()) {
    const base = count.get(f.name)! > 1 ? `${f.system}_${f.name}` : f.name;
    out.set(base.replace(/[^A-Za-z0-9_]/g, '_'), f);
  }
  return out;
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
