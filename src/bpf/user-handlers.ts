/**
 * User handlers in BPF C in the recording's object. A handler's source defines
 * `int lkst_handler(struct lkst_ctx *c, void *rec)`; lkst includes it once per handler, renamed
 * `lkst_user_NAME` (a static always-inline function, declared before the source), and calls it at
 * each tracepoint of its maskset lines with a context filled there: the event's format id, the
 * line's parameters (from a map, changeable live) and the fields the source names. What it returns
 * says what lkst does next with the event: record it into the buffer bpf (or the one lkst_route
 * chose), raise an alert, freeze that buffer. Values, switches and routes: see the header's macros.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { handlerDir } from '../base/config.js';
import { nativeCacheDir } from '../native/compile.js';
import type { EventFormat } from '../events/format.js';
import { readLiveFormat } from '../events/live.js';
import { SHIPPED_BPF, shippedBpfSource, userBpfUses, type UserBpfUses } from '../handlers/user-bpf.js';
import { fieldValue } from './expr.js';
import { valueAsserts, type ValueEvent } from './user-values.js';

export const MAX_PARAMS = 8;
export const MAX_FIELDS = 8;
export const MAX_NOTES = 4;

/** The header a handler includes (`#include "lkst-handler.h"`); docs/handlers.md documents it. */
export const HANDLER_HEADER = `/* lkst-handler.h: the contract of an lkst user handler in BPF C (see docs/handlers.md). */
#ifndef LKST_HANDLER_H
#define LKST_HANDLER_H
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* What lkst_handler returns: bits saying what lkst does with the event after it (0: nothing). */
#define LKST_RECORD 1 /* record the event into the trace's buffer bpf */
#define LKST_ALERT 2  /* raise an alert: lkst watch prints it with the event's fields */
#define LKST_FREEZE 4 /* stop the buffer (bpf, or the one lkst_route chose) after this event (the flight recorder ends here) */

/* Filled by lkst at each event before the handler runs. */
struct lkst_ctx {
  u32 type;             /* the event's format id (compare with lkst_event_is) */
  u32 has;              /* bit i: the event has the handler's i-th field */
  u32 buffer;           /* where LKST_RECORD and lkst_value write: 0 (bpf) unless lkst_route chose one */
  u32 unused;
  u64 param[${MAX_PARAMS}];        /* the maskset line's k=v, by lkst_param */
  u64 field[${MAX_FIELDS}];        /* the event's fields the handler names, by lkst_field */
  u64 note[${MAX_NOTES}];         /* what an alert carries besides the event, by lkst_note */
};

/* Written literally (lkst finds the names in the source): */
#define lkst_param(c, name) ((c)->param[lkst_p_##name])           /* parameter name=N of the maskset line (0 when not given; lkst handler set changes it live) */
#define lkst_field(c, name) ((c)->field[lkst_f_##name])           /* the event's field, widened to u64 (signed fields sign-extended) */
#define lkst_has(c, name) (((c)->has >> lkst_f_##name) & 1)       /* whether this event has that field */
#define lkst_event_is(c, sys, ev) ((c)->type == lkst_e_##sys##__##ev) /* which event this is */
#define lkst_note(c, name, v) ((c)->note[lkst_n_##name] = (u64)(v)) /* a value the alert carries as name=0x... */
/* Records *ptr, a struct lkst_value_name the handler declares, as the event lkst_user:name (its fields by name in the trace). */
#define lkst_value(c, name, ptr) lkst_emit_value(lkst_v_##name, (ptr), sizeof(struct lkst_value_##name), (c)->buffer)
/* Makes maskset name (a '-' in its name written '_') the one in force, from the next event on, like switch to=. */
#define lkst_switch(c, name) ({ u32 lkst_z_ = 0, lkst_to_ = lkst_m_##name; bpf_map_update_elem(&lkst_current, &lkst_z_, &lkst_to_, BPF_ANY); })
/* Sends this event's record and values into the trace's buffer name instead of bpf; returns LKST_RECORD. */
#define lkst_route(c, name) ((c)->buffer = lkst_b_##name, LKST_RECORD)
#endif
`;

/** The directory holding lkst-handler.h (written once per lkst version of it). */
export function handlerHeaderDir(): string {
  const dir = join(nativeCacheDir(), 'bpf', 'include');
  const file = join(dir, 'lkst-handler.h');
  if (existsSync(file) && readFileSync(file, 'utf8') === HANDLER_HEADER) return dir;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, HANDLER_HEADER);
  renameSync(tmp, file);
  return dir;
}

/** The entry parameter bpf-table.ts gives a user handler: the masksets its lkst_switch names, by C name, as table indexes (JSON). */
export const USER_SWITCHES = 'lkst:switch';

/** A registered handler's source file. */
export function userHandlerFile(name: string, root?: string): string {
  return join(handlerDir(root), `${name}.bpf.c`);
}

function ident(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_');
}

/** A handler's source and what it names, checked against the header's limits. */
export interface UserSource {
  readonly name: string;
  /** The file name shown in compiler and verifier messages. */
  readonly shownAs: string;
  readonly text: string;
  readonly uses: UserBpfUses;
}

export function userSource(name: string, text: string, shownAs: string): UserSource {
  const uses = userBpfUses(text);
  if (uses.params.length > MAX_PARAMS) throw new LkstError(`${shownAs} names ${uses.params.length} parameters (${uses.params.join(', ')})`, `use at most ${MAX_PARAMS}`);
  if (uses.notes.length > MAX_NOTES) throw new LkstError(`${shownAs} names ${uses.notes.length} alert notes (${uses.notes.join(', ')})`, `use at most ${MAX_NOTES}`);
  if (uses.fields.length > MAX_FIELDS) throw new LkstError(`${shownAs} reads ${uses.fields.length} fields (${uses.fields.join(', ')})`, `read at most ${MAX_FIELDS}, or read the rest with bpf_probe_read_kernel from rec`);
  return { name, shownAs, text, uses };
}

/** The source of a registered handler. */
export function registeredSource(name: string): UserSource {
  const shipped = shippedBpfSource(name);
  if (shipped !== undefined) return userSource(name, shipped, SHIPPED_BPF[name]!);
  const file = userHandlerFile(name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new LkstError(`no BPF C handler named ${name} (${file})`, 'register it with `lkst handler add NAME FILE.bpf.c`');
  }
  return userSource(name, text, `${name}.bpf.c`);
}

/** The line marker after a handler's source: replaced by the generated file's own line once it is whole. */
export const LINE_MARK = '#line LKST_LINE "lkst-handlers.bpf.c"';

/** What a handler's names stand for in one object: its value events, the masksets it switches to and the buffers it routes to, by index. */
export interface UserTargets {
  readonly values: readonly ValueEvent[];
  /** By the C name lkst_switch writes: the maskset's index in the recording's table. */
  readonly masksets: Readonly<Record<string, number>>;
  /** The object's record buffers by index (bpf first). */
  readonly buffers: readonly string[];
}

/**
 * The handler's source in the object: its names as macros, renamed, with its own file and line
 * numbers for clang and the verifier's messages. formats: the events it names (format ids).
 */
export function userDefinition(src: UserSource, formats: ReadonlyMap<string, EventFormat>, to: UserTargets): string {
  const fn = `lkst_user_${ident(src.name)}`;
  const defs = [
    ...src.uses.params.map((p, i) => `#define lkst_p_${p} ${i}`),
    ...src.uses.fields.map((f, i) => `#define lkst_f_${f} ${i}`),
    ...src.uses.notes.map((f, i) => `#define lkst_n_${f} ${i}`),
    ...to.values.map((v) => `#define lkst_v_${v.name} ${v.id}`),
    ...src.uses.switches.map((m) => {
      const index = to.masksets[m];
      if (index === undefined) throw new LkstError(`${src.shownAs}: lkst_switch(c, ${m}) names no maskset of the recording's table`, `create maskset ${m} (a '-' in its name written '_' in C)`);
      return `#define lkst_m_${m} ${index}`;
    }),
    ...src.uses.routes.map((b) => `#define lkst_b_${b} ${to.buffers.indexOf(b)}`),
    ...src.uses.events.map((e) => {
      const f = formats.get(`${e.system}:${e.event}`);
      if (!f) throw new LkstError(`${src.shownAs} names the event ${e.system}:${e.event}, which this kernel lacks`, 'see `lkst events` for the tracepoints of this kernel');
      return `#ifndef lkst_e_${e.system}__${e.event}\n#define lkst_e_${e.system}__${e.event} ${f.id}\n#endif`;
    }),
  ];
  // The event ids stay (guarded): another handler may name the same event.
  const undefs = defs.filter((d) => d.startsWith('#define ')).map((d) => `#undef ${d.split(' ')[1]}`);
  return `#include "lkst-handler.h"
static __always_inline int ${fn}(struct lkst_ctx *c, void *rec);
${defs.join('\n')}
#define lkst_handler ${fn}
#line 1 "${src.shownAs}"
${src.text}
${LINE_MARK}
${to.values.map(valueAsserts).join('\n')}
#undef lkst_handler
${undefs.join('\n')}
`;
}

/**
 * A user unit's parameters live in an array map, one u64 slot per parameter in the order the source
 * names them: lkst-bpf-run fills it before attaching and `lkst handler set` rewrites it while the
 * recording runs (a unit whose source names no parameter has none).
 */
export interface UserParamSlot {
  readonly map: string;
  readonly tp: string;
  readonly maskset: number;
  /** The handler's name and its parameters' names, by slot. */
  readonly handler: string;
  readonly names: readonly string[];
  /** The values it starts with (decimal u64). */
  readonly values: readonly string[];
  readonly from?: string;
}

/** A maskset line's value of a parameter as a u64 (0 when not given; negative numbers wrap as C's do). */
export function paramWord(v: unknown): string {
  const n = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v ?? 0)) || 0);
  return BigInt.asUintN(64, n).toString();
}

/** The map declaration of unit i's parameters ('' when it has none). */
export function userParamMap(src: UserSource, unit: number): string {
  if (!src.uses.params.length) return '';
  return `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, ${src.uses.params.length}); __type(key, u32); __type(value, u64); } lkst_param_${unit} SEC(".maps");\n`;
}

/** The C call of a handler at one tracepoint (unit i): fills its context and leaves its verdict in `r`. */
export function userCall(src: UserSource, format: EventFormat, unit: number): string {
  const sets = [`c.type = ${format.id};`];
  // One lookup per parameter: each slot is written whole by the runner, so a value is never half old.
  src.uses.params.forEach((_, i) => sets.push(`{ u32 k = ${i}; u64 *v = bpf_map_lookup_elem(&lkst_param_${unit}, &k); if (v) c.param[${i}] = *v; }`));
  let has = 0;
  src.uses.fields.forEach((name, i) => {
    const v = fieldValue(format.fieldByName.get(name), name);
    if (v === undefined) return;
    has |= 1 << i;
    sets.push(`c.field[${i}] = (u64)${v};`);
  });
  sets.push(`c.has = ${has};`);
  return `struct lkst_ctx c = {}; ${sets.join(' ')} r = lkst_user_${ident(src.name)}(&c, ctx);`;
}

/** Replaces the line marks by the generated file's own line numbers. */
export function fixLineMarks(source: string): string {
  if (!source.includes(LINE_MARK)) return source;
  return source
    .split('\n')
    .map((l, i) => (l === LINE_MARK ? `#line ${i + 2} "lkst-handlers.bpf.c"` : l))
    .join('\n');
}

/** The formats of the events a handler names that this kernel has (userDefinition names a missing one). */
export function namedEventFormats(src: UserSource): Map<string, EventFormat> {
  const out = new Map<string, EventFormat>();
  for (const e of src.uses.events) {
    try {
      out.set(`${e.system}:${e.event}`, readLiveFormat(e.system, e.event));
    } catch {
      // not on this kernel
    }
  }
  return out;
}
