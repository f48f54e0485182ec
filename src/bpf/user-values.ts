/**
 * Values a BPF C handler records as events of its own: it declares `struct lkst_value_NAME { ... }`
 * and calls `lkst_value(c, NAME, &v)`; the record is the event `lkst_user:NAME` (common fields, then
 * the struct as laid out by C), and lkst writes its format into the trace.dat like a tracepoint's,
 * so `trace-cmd report`, KernelShark and `lkst report` print its fields by name. Names and types are
 * read from the source (handlers/user-bpf.ts); the layout computed here is checked by the compiler
 * (static asserts after the source), so the format cannot disagree with the object.
 */
import { LkstError } from '../base/errors.js';
import type { UserValueDecl } from '../handlers/user-bpf.js';

/** The system of the value events in the trace. */
export const VALUE_SYSTEM = 'lkst_user';
/**
 * Format ids of value events: from here up, far above the kernel's (which numbers its events from
 * about 20 upwards, 2,325 the highest on this 6.18 VM with every probe): common_type is a u16.
 */
export const VALUE_ID_BASE = 0xff00;
/** A record's bytes after the common fields (a ring-buffer record of the handler, on its stack first). */
export const MAX_VALUE_BYTES = 256;

/** The scalar types a value field may have: size, signedness, printf conversion. */
const SCALARS: Record<string, { size: number; signed: boolean; conv: string }> = {};
const scalar = (names: string[], size: number, signed: boolean, conv: string) => {
  for (const n of names) SCALARS[n] = { size, signed, conv };
};
scalar(['u8', '__u8', 'unsigned char'], 1, false, '%u');
scalar(['s8', '__s8', 'signed char', 'char'], 1, true, '%d');
scalar(['u16', '__u16', 'unsigned short'], 2, false, '%u');
scalar(['s16', '__s16', 'short'], 2, true, '%d');
scalar(['u32', '__u32', 'unsigned int', 'unsigned'], 4, false, '%u');
scalar(['s32', '__s32', 'int', 'pid_t'], 4, true, '%d');
scalar(['u64', '__u64', 'unsigned long long', 'unsigned long'], 8, false, '%llu');
scalar(['s64', '__s64', 'long long', 'long'], 8, true, '%lld');

export interface ValueField {
  readonly name: string;
  readonly type: string;
  /** Offset in the record (the common fields take the first 8 bytes). */
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  /** A char array: a string. */
  readonly text?: number;
  readonly conv: string;
}

/** One value event of a recording's object. */
export interface ValueEvent {
  readonly name: string;
  readonly id: number;
  readonly fields: readonly ValueField[];
  /** Bytes of the struct (sizeof). */
  readonly bytes: number;
}

/** The value's fields laid out as C lays out the struct; a type or an array lkst cannot describe is a LkstError naming the field. */
export function valueEvent(decl: UserValueDecl, id: number, shownAs: string): ValueEvent {
  let at = 0;
  let align = 1;
  const fields = decl.fields.map((f): ValueField => {
    const t = SCALARS[f.type];
    const where = `${shownAs}:${decl.line}: struct lkst_value_${decl.name}, field '${f.name}'`;
    if (!t) throw new LkstError(`${where}: type '${f.type}' is not one lkst can describe in the trace's format`, 'use u8/u16/u32/u64, s8/s16/s32/s64, int, long or char NAME[N] (a string)');
    if (f.count !== undefined && f.type !== 'char') throw new LkstError(`${where}: only char arrays (strings) are values`, 'record the elements as fields of their own');
    const size = t.size * (f.count ?? 1);
    at = Math.ceil(at / t.size) * t.size;
    align = Math.max(align, t.size);
    const field: ValueField = { name: f.name, type: f.type, offset: 8 + at, size, signed: f.count === undefined && t.signed, conv: f.count === undefined ? t.conv : '%s', ...(f.count !== undefined ? { text: f.count } : {}) };
    at += size;
    return field;
  });
  const bytes = Math.ceil(at / align) * align;
  if (!fields.length) throw new LkstError(`${shownAs}:${decl.line}: struct lkst_value_${decl.name} has no field lkst can read`, 'declare its fields one per `TYPE NAME;`');
  if (bytes > MAX_VALUE_BYTES) throw new LkstError(`${shownAs}:${decl.line}: struct lkst_value_${decl.name} is ${bytes} bytes`, `record at most ${MAX_VALUE_BYTES} bytes per value`);
  return { name: decl.name, id, fields, bytes };
}

/** The event's format file, as the kernel writes one (trace-cmd and lkst read it from the trace.dat). */
export function valueFormat(v: ValueEvent): string {
  const line = (decl: string, offset: number, size: number, signed: boolean) => `\tfield:${decl};\toffset:${offset};\tsize:${size};\tsigned:${signed ? 1 : 0};`;
  return [
    `name: ${v.name}`,
    `ID: ${v.id}`,
    'format:',
    line('unsigned short common_type', 0, 2, false),
    line('unsigned char common_flags', 2, 1, false),
    line('unsigned char common_preempt_count', 3, 1, false),
    line('int common_pid', 4, 4, true),
    '',
    ...v.fields.map((f) => line(`${f.type} ${f.name}${f.text ? `[${f.text}]` : ''}`, f.offset, f.size, f.signed)),
    '',
    `print fmt: "${v.fields.map((f) => `${f.name}=${f.conv}`).join(' ')}", ${v.fields.map((f) => `REC->${f.name}`).join(', ')}`,
    '',
  ].join('\n');
}

/** C after the handler's source: the compiler checks that lkst's layout is the struct's. */
export function valueAsserts(v: ValueEvent): string {
  const s = `struct lkst_value_${v.name}`;
  return [
    `_Static_assert(sizeof(${s}) == ${v.bytes}, "lkst: the layout of ${s} is not the one lkst describes: use natural alignment, no attributes");`,
    ...v.fields.map((f) => `_Static_assert(__builtin_offsetof(${s}, ${f.name}) == ${f.offset - 8}, "lkst: ${s}.${f.name} is not where lkst describes it");`),
  ].join('\n');
}

/**
 * The record of a value into buffer buf of the handlers (lkst_out): the common fields, then the
 * struct. Needs the record support of codegen.ts (lkst_reserve, lkst_submit).
 */
export const VALUE_SUPPORT = `static __always_inline void lkst_emit_value(u16 type, const void *v, const u32 size, u32 buf) {
  struct lkst_rec *r = lkst_reserve(8 + size, buf);
  if (!r) return;
  r->ts = bpf_ktime_get_ns(); r->len = 8 + size; r->cpu = bpf_get_smp_processor_id() | (buf << 16);
  *(u64 *)r->data = type | ((u64)(u32)bpf_get_current_pid_tgid() << 32);
  __builtin_memcpy(r->data + 8, v, size);
  lkst_submit(r);
}
`;
