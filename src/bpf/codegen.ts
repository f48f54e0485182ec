/**
 * The BPF C of lkst's built-in handlers, as one object for every entry that runs on BPF: per
 * tracepoint one program calling each handler's function in turn: `tp_btf/EVENT` building the
 * record from the arguments where assign.ts knows how, else `tracepoint/SYSTEM/EVENT` (with a tp_btf
 * guard counting per CPU the events the kernel skips it for). A
 * handler is a static function `lkst_h_N(void *ctx)` plus the maps it owns, so a user handler can be
 * one more included function with the same signature later.
 *
 * - record: copies the tracepoint's record (its context, laid out as its format file says) into the
 *   ring buffer `lkst_out` with the time (bpf_ktime_get_ns, the `mono` trace clock) and the CPU,
 *   counting per CPU in `lkst_lost` what found the ring buffer full. The records keep the
 *   tracepoint's format, so readers decode them like ftrace's; dynamic data (__data_loc strings)
 *   follows the fixed part as the kernel lays it out.
 * - count: a hash map `lkst_count_N` from the values of the key fields (each widened to u64; with
 *   hist=, one more u64: the log2 bucket of that field) to a count, no record per event (bpftrace's
 *   `@[...] = count()`). Keys that find the map full are counted per CPU in `lkst_nokey`.
 *
 * - record with every=N (`sample`) or max=N (`rate`): the same copy for one event in N per CPU, or up
 *   to N per CPU per second; what is left out is counted per CPU in `lkst_thinned_N` (on purpose, not lost).
 * - switch: writes another maskset's index into `lkst_current`: from the next event on, only that
 *   maskset's units run (every maskset a recording may switch to is compiled into the one object).
 * - record with pids= (`pid engine=bpf`) or buffer= (`route`): only the processes in the unit's pid
 *   map (lkst_pids_N, set live by the runner), with cond= only when the compiled filter holds; a route
 *   writes into its own buffer (the buffer index in the record's cpu word) and plain records skip it.
 * - alert: the event's record into the ring lkst_alerts, tagged with the unit; freeze= sets that
 *   buffer's flag in lkst_frozen, after which lkst_copy makes no record there.
 *
 * The first 8 bytes of a tracepoint program's context are not the common fields: the kernel puts a
 * pt_regs pointer there before running the program (perf_trace_run_bpf_submit). The record handler
 * writes them itself: common_type is the format's id, common_pid the current thread; common_flags
 * and common_preempt_count as common-fields.ts makes them (0 without its per-CPU offsets).
 */
import { LkstError } from '../base/errors.js';
import type { EventFormat } from '../events/format.js';
import { DYN_CAP, SCRATCH_BYTES, tpBtfAssign } from './assign.js';
import { commonFieldsSource, guardSource, type PercpuOffsets } from './common-fields.js';
import { fieldValue } from './expr.js';
import { probeKeyField, probeOf, probeProgramHead, probeRecordCall } from './probe-programs.js';
import { fixLineMarks, paramWord, userCall, userDefinition, userParamMap, type UserParamSlot, type UserSource } from './user-handlers.js';
import { VALUE_ID_BASE, VALUE_SUPPORT, valueEvent, type ValueEvent } from './user-values.js';

/** Bytes of a tracepoint's fixed record: up to the end of its last field (dynamic data is not copied yet). */
export function fixedRecordSize(f: EventFormat): number {
  return f.fields.reduce((n, x) => Math.max(n, x.offset + x.size), 0);
}

function ident(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * One handler of one entry on one tracepoint. maskset: the index of the entry's maskset in the
 * table (0 when one maskset is recorded); the unit runs only while `lkst_current` holds it.
 * A record unit with pids= records only those processes (their tids or tgids, in the live-changeable
 * map `lkst_pids_N`), with cond only when the filter holds (C from expr.ts), and with buffer= it routes:
 * it records into that buffer, and other records of the event skip it. follow: the format of
 * sched:sched_process_fork, whose children of a process in the set join it.
 */
export type HandlerUnit = { readonly format: EventFormat; readonly from?: string; readonly maskset?: number } & (
  | {
      readonly handler: 'record';
      readonly every?: number;
      readonly max?: number;
      readonly pids?: readonly number[];
      readonly follow?: EventFormat;
      readonly cond?: string;
      readonly buffer?: string;
    }
  | { readonly handler: 'count'; readonly by: readonly string[]; readonly hist?: string }
  | { readonly handler: 'switch'; readonly to: number }
  | { readonly handler: 'alert'; readonly cond?: string; readonly freeze?: string; readonly record?: boolean }
  | {
      readonly handler: 'user';
      readonly source: UserSource;
      readonly params: Readonly<Record<string, unknown>>;
      readonly events: ReadonlyMap<string, EventFormat>;
      /** The masksets its lkst_switch names, by C name: their indexes in the table (bpf-table.ts). */
      readonly switches?: Readonly<Record<string, number>>;
    }
);

/** What a count map's keys hold: each key field (u64, the field's signedness), then the hist bucket. */
export interface CountLayout {
  readonly map: string;
  readonly event: string;
  readonly by: readonly string[];
  readonly signed: readonly boolean[];
  readonly hist?: string;
  readonly from?: string;
}

/** A unit's pid set, changeable while it runs (`lkst handler set`): one map, filled by the runner. */
export interface PidSlot {
  readonly map: string;
  readonly tp: string;
  readonly maskset: number;
  /** The route's buffer; absent for a pid-restricted record. */
  readonly buffer?: string;
  readonly from?: string;
}

/** An alert unit: its alerts carry its index and a copy of the event's record. */
export interface AlertUnit {
  readonly unit: number;
  readonly tp: string;
  /** alert, or the user handler's name: the trace's lkst/alert events name it. */
  readonly handler: string;
  readonly from?: string;
  /** A user handler's alert notes, by name: u64 values after the event's record. */
  readonly notes?: readonly string[];
}

/** One key field: where its value comes from. */
interface KeyField {
  signed: boolean;
  /** C expression of the value as u64 (ctx is the tracepoint's record). */
  expr: string;
}

function keyField(f: EventFormat, name: string, what: string): KeyField {
  const probe = probeOf(f);
  if (probe) return probeKeyField(f, probe, name, what);
  // The first 8 bytes of the context are not the common fields (see above): the pid comes from the helper.
  const field = f.fieldByName.get(name);
  if (name === 'common_pid' || (name === 'pid' && !field)) return { signed: false, expr: '(u64)(u32)bpf_get_current_pid_tgid()' };
  const value = fieldValue(field, name);
  const fix = `use a numeric field of ${f.system}:${f.name} (lkst events --fields ${f.system}:${f.name}) or pid`;
  if (!field || field.name.startsWith('common_')) throw new LkstError(`${f.system}:${f.name} has no field '${name}' to ${what}`, fix);
  if (!value) throw new LkstError(`${f.system}:${f.name}: field '${name}' is not a number (${what} takes numbers)`, fix);
  return { signed: field.signed, expr: `(u64)${value}` };
}

function prelude(buffers: number, common: PercpuOffsets | undefined): string {
  return `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
${common ? commonFieldsSource(common) : ''}
/* Per buffer (bpf, then each route's), per CPU: records that found the ring buffer full. */
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, ${buffers}); __type(key, u32); __type(value, u64); } lkst_lost SEC(".maps");
/* Per buffer: set by an alert's freeze=, after which the buffer takes no record (a stopped flight recorder). */
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, ${buffers}); __type(key, u32); __type(value, u32); } lkst_frozen SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } lkst_nokey SEC(".maps");
/* Processes whose events no handler sees: the recorder's own (the runner fills it). */
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 256); __type(key, u32); __type(value, u8); } lkst_skip SEC(".maps");
/* The maskset in force (its index in the table): one write switches every handler (lkst maskset switch, or a switch handler). */
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u32); } lkst_current SEC(".maps");
static __always_inline void lkst_bumpk(void *map, u32 k) { u64 *n = bpf_map_lookup_elem(map, &k); if (n) *n += 1; }
static __always_inline void lkst_bump(void *map) { lkst_bumpk(map, 0); }
/* Whether the current thread or its process is in a pid set. */
static __always_inline int lkst_in(void *map) {
  u64 pt = bpf_get_current_pid_tgid();
  u32 tid = (u32)pt, tgid = pt >> 32;
  return bpf_map_lookup_elem(map, &tid) || bpf_map_lookup_elem(map, &tgid);
}
struct lkst_rec { u64 ts; u32 len; u32 cpu; u8 data[]; };
/* The record's header and the tracepoint's record after it (common_type and common_pid written here, see above). */
static __always_inline void lkst_fill(struct lkst_rec *r, void *ctx, const u16 type, const u32 size, u32 tag, const u32 mig) {
  r->ts = bpf_ktime_get_ns();
  r->len = size;
  r->cpu = bpf_get_smp_processor_id() | (tag << 16);
  *(u16 *)r->data = type;
  *(u16 *)(r->data + 2) = ${common ? 'lkst_common(mig)' : '0'};
  *(u32 *)(r->data + 4) = (u32)bpf_get_current_pid_tgid();
  bpf_probe_read_kernel(r->data + 8, size - 8, (u8 *)ctx + 8);
}
`;
}

/** The record ring buffer; a record's cpu word holds its buffer's index in its high 16 bits. */
function recordSupport(ringBytes: number): string {
  return `struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, ${ringBytes}); } lkst_out SEC(".maps");
/* A wakeup per record (irq_work) costs the traced task more than the copy: the runner is woken once
   the ring is a quarter full and reads it every 50 ms anyway. */
static __always_inline void lkst_submit(void *r) {
  bpf_ringbuf_submit(r, bpf_ringbuf_query(&lkst_out, BPF_RB_AVAIL_DATA) > ${ringBytes / 4} ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}
/* A record of room bytes into buffer buf: none when the buffer is frozen; counted lost when the ring is full. */
static __always_inline struct lkst_rec *lkst_reserve(const u32 room, u32 buf) {
  u32 *frozen = bpf_map_lookup_elem(&lkst_frozen, &buf);
  if (frozen && *frozen) return 0;
  struct lkst_rec *r = bpf_ringbuf_reserve(&lkst_out, sizeof(struct lkst_rec) + room, 0);
  if (!r) lkst_bumpk(&lkst_lost, buf);
  return r;
}
/* room: the bytes reserved for the record (its fixed part and up to DYN_CAP per dynamic field). */
static __always_inline struct lkst_rec *lkst_copy(void *ctx, const u16 type, const u32 size, const u32 room, u32 buf, const u32 mig) {
  struct lkst_rec *r = lkst_reserve(room, buf);
  if (r) lkst_fill(r, ctx, type, size, buf, mig);
  return r;
}
`;
}

/** The alert ring buffer: an alert is the event's record tagged with its unit; what finds it full is counted in lkst_alert_lost. */
const ALERT_SUPPORT = `struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 18); } lkst_alerts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } lkst_alert_lost SEC(".maps");
`;

/** log2 bucket: 0 for 0, k for [2^(k-1), 2^k), 65 for a negative value of a signed field. */
const LOG2 = `static __always_inline u64 lkst_log2b(u64 v) {
  u64 b = 0;
  if (v >> 32) { v >>= 32; b += 32; }
  if (v >> 16) { v >>= 16; b += 16; }
  if (v >> 8) { v >>= 8; b += 8; }
  if (v >> 4) { v >>= 4; b += 4; }
  if (v >> 2) { v >>= 2; b += 2; }
  if (v >> 1) { b += 1; }
  return v ? b + 1 : 0;
}
`;

function countFunction(i: number, keys: KeyField[], hist: KeyField | undefined, maxKeys: number): string {
  const n = keys.length + (hist ? 1 : 0);
  const bucket = hist ? `  { u64 h = ${hist.expr}; k.v[${keys.length}] = ${hist.signed ? '(s64)h < 0 ? 65 : ' : ''}lkst_log2b(h); }\n` : '';
  return `struct lkst_key_${i} { u64 v[${n}]; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, ${maxKeys}); __type(key, struct lkst_key_${i}); __type(value, u64); } lkst_count_${i} SEC(".maps");
static __always_inline void lkst_h_${i}(void *ctx) {
  struct lkst_key_${i} k = {};
${keys.map((x, j) => `  k.v[${j}] = ${x.expr};`).join('\n')}
${bucket}  u64 *n = bpf_map_lookup_elem(&lkst_count_${i}, &k);
  if (n) { __sync_fetch_and_add(n, 1); return; }
  u64 one = 1;
  if (bpf_map_update_elem(&lkst_count_${i}, &k, &one, BPF_NOEXIST)) {
    n = bpf_map_lookup_elem(&lkst_count_${i}, &k);
    if (n) __sync_fetch_and_add(n, 1);
    else lkst_bump(&lkst_nokey);
  }
}
`;
}

/**
 * An alert's record keeps only the fixed part (a user handler's notes follow it): each dynamic field
 * is made to say "empty, at the record's end", so readers show '' rather than bytes past the record.
 */
function dynamicFixes(f: EventFormat): string {
  const size = fixedRecordSize(f);
  return dynamicFields(f)
    .map((x) => `*(u32 *)(r->data + ${x.offset}) = ${x.dynamic === 'data_loc' ? size : Math.max(0, size - x.offset - 4)}; `)
    .join('');
}

/** The dynamic fields of a format (__data_loc and __rel_loc words), copied behind the fixed part. */
function dynamicFields(f: EventFormat) {
  return f.fields.filter((x) => x.dynamic !== 'none' && x.size === 4);
}

/**
 * C copying each dynamic field's data from the record at ctx to the tail of r (compact, in field
 * order, each up to DYN_CAP bytes: a longer string is cut and ends in NUL), its word set as the
 * kernel sets it (offset | length << 16; a __rel_loc's offset counts from the word's end), r->len
 * the whole.
 */
function dynamicCopy(f: EventFormat): string {
  const dyn = dynamicFields(f);
  if (!dyn.length) return '';
  const steps = dyn.map((x) => {
    const base = x.dynamic === 'rel_loc' ? x.offset + 4 : 0;
    const cut = x.isString ? ` if (n == ${DYN_CAP}) r->data[pos + n - 1] = 0;` : '';
    return `{ u32 loc = 0; bpf_probe_read_kernel(&loc, 4, (u8 *)ctx + ${x.offset}); u32 n = loc >> 16; if (n > ${DYN_CAP}) n = ${DYN_CAP}; if (n) bpf_probe_read_kernel(r->data + pos, n, (u8 *)ctx + ${base} + (loc & 0xffff));${cut} *(u32 *)(r->data + ${x.offset}) = (pos - ${base}) | (n << 16); pos += n; }`;
  });
  return `{ u32 pos = ${fixedRecordSize(f)}; ${steps.join(' ')} r->len = pos; } `;
}

/** The record handler's copy of one tracepoint into buffer buf. */
function recordCall(f: EventFormat, buf: number | 'c.buffer'): string {
  const probe = probeOf(f);
  if (probe) {
    // Probe records are written in the probe event's own layout, into the bpf buffer only.
    if (buf !== 0) throw new LkstError(`${f.system}:${f.name}: route on a probe is not built on the BPF engine`, 'record the probe with `record engine=bpf`, or route tracepoints');
    return probeRecordCall(f, probe);
  }
  const size = fixedRecordSize(f);
  return `{ struct lkst_rec *r = lkst_copy(ctx, ${f.id}, ${size}, ${size + dynamicFields(f).length * DYN_CAP}, ${buf}, lkst_mig); if (r) { ${dynamicCopy(f)}lkst_submit(r); } }`;
}

/** Freezes a buffer (a stopped flight recorder): later records into it are not made. */
function freezeCall(buf: number | 'c.buffer'): string {
  return `{ u32 b = ${buf}, one = 1; bpf_map_update_elem(&lkst_frozen, &b, &one, BPF_ANY); }`;
}

/**
 * An alert: the event's record into lkst_alerts, tagged with the unit; then the freeze of a buffer,
 * if asked. notes: a user handler's values (c.note) after the record, as many u64.
 */
function alertCall(f: EventFormat, unit: number, freeze: number | undefined, notes = 0): string {
  const size = fixedRecordSize(f);
  const stop = freeze === undefined ? '' : ` ${freezeCall(freeze)}`;
  const extra = notes ? `__builtin_memcpy(r->data + ${size}, c.note, ${8 * notes}); r->len = ${size + 8 * notes}; ` : '';
  return `{ struct lkst_rec *r = bpf_ringbuf_reserve(&lkst_alerts, sizeof(struct lkst_rec) + ${size + 8 * notes}, 0); if (!r) lkst_bump(&lkst_alert_lost); else { lkst_fill(r, ctx, ${f.id}, ${size}, ${unit}, lkst_mig); ${dynamicFixes(f)}${extra}bpf_ringbuf_submit(r, 0); }${stop} }`;
}

/**
 * Whether this event of a sampled or rate-limited record is kept: every=N keeps each Nth per CPU;
 * max=N keeps up to N per CPU per second. The rest are counted per CPU in lkst_thinned_N (left
 * out on purpose, not lost).
 */
function thinFunction(i: number, every?: number, max?: number): string {
  const test = every
    ? `s->n += 1; if (s->n < ${every}) { s->skipped += 1; return 0; } s->n = 0; return 1;`
    : `u64 sec = bpf_ktime_get_ns() / 1000000000ULL; if (sec != s->sec) { s->sec = sec; s->n = 0; } if (s->n >= ${max}) { s->skipped += 1; return 0; } s->n += 1; return 1;`;
  return `struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, struct lkst_thin); } lkst_thinned_${i} SEC(".maps");
static __always_inline int lkst_thin_${i}(void) {
  u32 k = 0;
  struct lkst_thin *s = bpf_map_lookup_elem(&lkst_thinned_${i}, &k);
  if (!s) return 1;
  ${test}
}
`;
}

/**
 * ringBytes: the record ring buffer's size (a power of 2, multiple of the page size); maxKeys: a
 * count map's size; tpBtf: build the records of the tracepoints assign.ts knows in `tp_btf/`
 * programs; common: fill common_flags and common_preempt_count (common-fields.ts; where the
 * per-CPU preempt count is).
 */
export interface ProgramOptions {
  ringBytes?: number;
  maxKeys?: number;
  tpBtf?: boolean;
  common?: PercpuOffsets;
  /** With tpBtf and common: the tracepoints tp_btf programs attach to, where a guard counts per CPU what a tracepoint/ program misses. */
  btfTracepoints?: ReadonlySet<string>;
}

export interface HandlerProgram {
  source: string;
  /** The count maps' key layouts, in map order. */
  counts: CountLayout[];
  /** The record buffers by index: `bpf`, then each route's buffer. */
  buffers: string[];
  /** The pid sets, with the pids each starts with (the runner writes them before attaching). */
  slots: (PidSlot & { pids: readonly number[] })[];
  alerts: AlertUnit[];
  /** The user units' parameter maps, with the values they start with (the runner writes them before attaching). */
  params: UserParamSlot[];
  /** The user handlers' value events (lkst_user:NAME), whose formats go into the trace. */
  values: ValueEvent[];
}

/** A user handler's value events, numbered after those of the object so far (into all); a name two handlers declare is refused. */
function userValues(src: UserSource, all: ValueEvent[]): ValueEvent[] {
  const mine = src.uses.values.map((d, k) => {
    if (all.some((v) => v.name === d.name)) throw new LkstError(`${src.shownAs}:${d.line}: another handler of this recording records values named ${d.name}`, 'give the struct lkst_value_NAME another name');
    return valueEvent(d, VALUE_ID_BASE + all.length + k, src.shownAs);
  });
  all.push(...mine);
  return mine;
}

/**
 * Whether a tracepoint/ program of f gets a guard: a tp_btf program on the same tracepoint that
 * counts per CPU the runs the kernel skips. Not for the syscalls system (its events are not
 * tracepoints of their own: their programs run from raw_syscalls') nor without tp_btf or the
 * per-CPU offsets (then only the program's total is known, CPU not known).
 */
function guarded(f: EventFormat, opts: ProgramOptions): boolean {
  return !!(opts.tpBtf && opts.common?.bpfProgActive !== undefined && opts.btfTracepoints?.has(f.name) && f.system !== 'syscalls');
}

/** Order of a tracepoint's calls: routes decide before records, alerts freeze after the records, a switch acts last. */
const RANK = { route: 0, record: 1, count: 2, alert: 3, switch: 4, follow: 5 } as const;

function named<T>(u: HandlerUnit, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof LkstError && u.from) throw new LkstError(`${u.from}: ${err.what}`, err.fix);
    throw err;
  }
}

/** The C of every unit as one object. A bad key field is a LkstError naming the unit's entry. */
export function handlerProgram(units: readonly HandlerUnit[], opts: ProgramOptions = {}): HandlerProgram {
  const buffers = ['bpf'];
  for (const u of units) if (u.handler === 'record' && u.buffer && !buffers.includes(u.buffer)) buffers.push(u.buffer);
  for (const u of units) if (u.handler === 'user') for (const b of u.source.uses.routes) if (!buffers.includes(b)) buffers.push(b);
  const parts: string[] = [prelude(buffers.length, opts.common)];
  const user = units.some((u) => u.handler === 'user');
  if (user || units.some((u) => u.handler === 'record' || (u.handler === 'alert' && u.record))) parts.push(recordSupport(opts.ringBytes ?? 8 << 20));
  if (user || units.some((u) => u.handler === 'alert')) parts.push(ALERT_SUPPORT);
  if (user) parts.push(VALUE_SUPPORT);
  const included = new Set<string>();
  if (units.some((u) => u.handler === 'count' && u.hist)) parts.push(LOG2);
  if (units.some((u) => u.handler === 'record' && (u.every || u.max))) parts.push('struct lkst_thin { u64 sec; u64 n; u64 skipped; };\n');
  const counts: CountLayout[] = [];
  const slots: HandlerProgram['slots'] = [];
  const alerts: AlertUnit[] = [];
  const params: UserParamSlot[] = [];
  const values: ValueEvent[] = [];
  const calls = new Map<string, { format: EventFormat; calls: { rank: number; c: string }[] }>();
  const on = (format: EventFormat) => {
    const id = `${format.system}:${format.name}`;
    const tp = calls.get(id) ?? { format, calls: [] };
    calls.set(id, tp);
    return tp;
  };
  units.forEach((u, i) => {
    const id = `${u.format.system}:${u.format.name}`;
    const tp = on(u.format);
    const gate = (rank: number, call: string) => tp.calls.push({ rank, c: `if (cur == ${u.maskset ?? 0}) ${call}` });
    if (u.handler === 'record') {
      const tests: string[] = [];
      if (u.pids) {
        const map = `lkst_pids_${i}`;
        parts.push(`struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, u32); __type(value, u8); } ${map} SEC(".maps");\n`);
        slots.push({ map, tp: id, maskset: u.maskset ?? 0, pids: u.pids, ...(u.buffer ? { buffer: u.buffer } : {}), ...(u.from ? { from: u.from } : {}) });
        tests.push(`lkst_in(&${map})`);
        if (u.follow) {
          const child = u.follow.fieldByName.get('child_pid');
          if (!child) throw new LkstError(`${u.from ?? id}: follow=true needs sched:sched_process_fork's child_pid, which this kernel's format lacks`, 'leave out follow=true');
          on(u.follow).calls.push({ rank: RANK.follow, c: `if (lkst_in(&${map})) { u32 c = 0; u8 one = 1; bpf_probe_read_kernel(&c, 4, (u8 *)ctx + ${child.offset}); bpf_map_update_elem(&${map}, &c, &one, BPF_ANY); }` });
        }
      }
      if (u.cond) tests.push(`(${u.cond})`);
      if (u.every || u.max) {
        parts.push(thinFunction(i, u.every, u.max));
        tests.push(`lkst_thin_${i}()`);
      }
      const test = tests.length ? `if (${tests.join(' && ')}) ` : '';
      if (u.buffer) {
        gate(RANK.route, `${test}{ routed = 1; ${recordCall(u.format, buffers.indexOf(u.buffer))} }`);
      } else gate(RANK.record, `if (!routed) ${test}${recordCall(u.format, 0)}`);
      return;
    }
    if (u.handler === 'switch') {
      gate(RANK.switch, `{ u32 z = 0, to = ${u.to}; bpf_map_update_elem(&lkst_current, &z, &to, BPF_ANY); }`);
      return;
    }
    if (u.handler === 'alert') {
      const freeze = u.freeze === undefined ? undefined : buffers.indexOf(u.freeze);
      if (freeze !== undefined && freeze < 0) {
        throw new LkstError(`${u.from ?? id}: freeze=${u.freeze} names no buffer of handlers on BPF (${buffers.join(', ')})`, 'freeze bpf or a route buffer=; an ftrace buffer stops with `stop buffer=NAME if=...` on the same event');
      }
      alerts.push({ unit: i, tp: id, handler: 'alert', ...(u.from ? { from: u.from } : {}) });
      // record=true: the event goes into the buffer it freezes (else bpf) first, so that buffer ends with it.
      const rec = u.record ? `${recordCall(u.format, freeze ?? 0)} ` : '';
      gate(RANK.alert, `${u.cond ? `if (${u.cond}) ` : ''}{ ${rec}${alertCall(u.format, i, freeze)} }`);
      return;
    }
    if (u.handler === 'user') {
      // A user handler's source once per object; its verdict at each event: record, alert, freeze bpf.
      if (!included.has(u.source.name)) parts.push(named(u, () => userDefinition(u.source, u.events, { values: userValues(u.source, values), masksets: u.switches ?? {}, buffers })));
      included.add(u.source.name);
      alerts.push({ unit: i, tp: id, handler: u.source.name, ...(u.from ? { from: u.from } : {}), ...(u.source.uses.notes.length ? { notes: u.source.uses.notes } : {}) });
      const names = u.source.uses.params;
      if (names.length) {
        parts.push(userParamMap(u.source, i));
        params.push({ map: `lkst_param_${i}`, tp: id, maskset: u.maskset ?? 0, handler: u.source.name, names, values: names.map((p) => paramWord(u.params[p])), ...(u.from ? { from: u.from } : {}) });
      }
      gate(RANK.count, `{ int r = 0; ${named(u, () => userCall(u.source, u.format, i))} if (r & 1) ${recordCall(u.format, 'c.buffer')} if (r & 2) ${alertCall(u.format, i, undefined, u.source.uses.notes.length)} if (r & 4) ${freezeCall('c.buffer')} }`);
      return;
    }
    const keys = named(u, () => u.by.map((b) => keyField(u.format, b, 'count by')));
    const hist = named(u, () => (u.hist ? keyField(u.format, u.hist, 'make a histogram of') : undefined));
    parts.push(countFunction(i, keys, hist, opts.maxKeys ?? 65536));
    counts.push({ map: `lkst_count_${i}`, event: id, by: u.by, signed: keys.map((k) => k.signed), ...(u.hist ? { hist: u.hist } : {}), ...(u.from ? { from: u.from } : {}) });
    gate(RANK.count, `lkst_h_${i}(ctx);`);
  });
  let scratch = 0;
  let guards = 0;
  for (const { format: f, calls: c } of calls.values()) {
    const sys = ident(f.system);
    const ev = ident(f.name);
    const body = [...c].sort((a, b) => a.rank - b.rank).map((x) => x.c);
    const probe = probeOf(f);
    const skip = `u32 tgid = bpf_get_current_pid_tgid() >> 32;\n  if (bpf_map_lookup_elem(&lkst_skip, &tgid)) return 0;`;
    // lkst_mig: the migrate_disable of the program's own run (common-fields.ts); none in a tp_btf program.
    const rest = (mig: number) => `const u32 lkst_mig = ${mig}; (void)lkst_mig;\n  u32 z = 0, *cp = bpf_map_lookup_elem(&lkst_current, &z), cur = cp ? *cp : 0;\n  int routed = 0; (void)routed;\n  ${body.join('\n  ')}\n  return 0;`;
    const built = !probe && opts.tpBtf ? tpBtfAssign(f, fixedRecordSize(f)) : undefined;
    if (built) {
      // The record built from the arguments in the scratch area; the handlers read it as a tracepoint program's ctx.
      // One area per program: another program's interrupting this one must not overwrite it (the kernel keeps a program from interrupting itself).
      parts.push(
        `SEC("tp_btf/${f.name}") int lkst_${sys}__${ev}(u64 *ctx) {\n  ${skip}\n  ${built.args}\n  u32 sk = ${scratch++}; u8 *e = bpf_map_lookup_elem(&lkst_scratch, &sk);\n  if (!e) return 0;\n  *(u16 *)e = ${f.id}; *(u32 *)(e + 4) = (u32)bpf_get_current_pid_tgid();\n  ${built.fill}\n  return lkst_${sys}__${ev}_run(e);\n}\n`,
      );
      parts.splice(parts.length - 1, 0, `static __always_inline int lkst_${sys}__${ev}_run(void *ctx) {\n  ${rest(0)}\n}\n`);
      continue;
    }
    const head = probe ? probeProgramHead(f, probe, `lkst_${sys}__${ev}`) : `SEC("tracepoint/${sys}/${ev}") int lkst_${sys}__${ev}(void *ctx)`;
    parts.push(`${head} {\n  ${skip}\n  ${rest(1)}\n}\n`);
    if (!probe && guarded(f, opts)) {
      guards++;
      parts.push(`/* Counts per CPU the events the kernel will not run lkst_${sys}__${ev} for (common-fields.ts). */\nSEC("tp_btf/${f.name}") int lkst_guard_${sys}__${ev}(u64 *ctx) {\n  u32 tgid = bpf_get_current_pid_tgid() >> 32;\n  lkst_guard(bpf_map_lookup_elem(&lkst_skip, &tgid) != 0);\n  return 0;\n}\n`);
    }
  }
  if (guards) parts.splice(1, 0, guardSource(opts.common!));
  if (scratch) parts.splice(1, 0, `/* Per tp_btf program, its record, built from the tracepoint's arguments (assign.ts). */\nstruct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, ${scratch}); __type(key, u32); __type(value, u8[${SCRATCH_BYTES}]); } lkst_scratch SEC(".maps");\n`);
  return { source: fixLineMarks(`// Generated by lkst (bpf/codegen.ts).\n${parts.join('')}`), counts, buffers, slots, alerts, params, values };
}
/** The record handler alone on a set of tracepoints. */
export function recordProgramSource(formats: readonly EventFormat[], opts: ProgramOptions = {}): string {
  return handlerProgram(
    formats.map((format) => ({ handler: 'record', format })),
    { ringBytes: 8 << 20, ...opts },
  ).source;
}

/** The count handler alone on one tracepoint (its map is lkst_count_0). */
export function countProgramSource(f: EventFormat, by: readonly string[], maxKeys = 65536): string {
  return handlerProgram([{ handler: 'count', format: f, by }], { maxKeys }).source;
}
