/**
 * Payloads of FtraceEvent: Perfetto's typed message where it has one whose fields hold every field
 * of the trace's format (ftrace-protos.ts, from Perfetto's .proto files), else GenericFtraceEvent
 * with every field by name. The importer (src/trace_processor/importers/ftrace/ftrace_parser.cc,
 * ParseFtraceEvent) dispatches on the FtraceEvent field number and reads the message's fields by
 * number; a field the format lacks is not written (no sched_wakeup `success` on kernels without it).
 */
import type { EventFormat, Field } from '../../events/format.js';
import type { TraceEvent } from '../../analysis/event.js';
import { arraySpan } from '../../events/field-span.js';
import { readInt } from '../../ringbuf/fields.js';
import { ProtoWriter } from '../protobuf.js';
import { FTRACE_EVENT, GENERIC_EVENT, GENERIC_FIELD } from './ids.js';
import { FTRACE_PROTOS } from './ftrace-protos.js';

/** Writes the payload of one record; false when a value does not fit the message (then it goes generic). */
export type Encoder = (ev: TraceEvent, w: ProtoWriter) => boolean;

type ProtoType = 'string' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'bool';
const PROTO_TYPES = new Set<string>(['string', 'int32', 'int64', 'uint32', 'uint64', 'bool']);

interface ProtoField {
  num: number;
  type: ProtoType;
  repeated: boolean;
}

/** "name=number:type[]" entries of ftrace-protos.ts; types lkst does not write (bytes, sint) are left out. */
export function protoFields(spec: string): Map<string, ProtoField> {
  const out = new Map<string, ProtoField>();
  for (const part of spec.split(',')) {
    const m = /^(\w+)=(\d+):(\w+)(\[\])?$/.exec(part);
    if (m && PROTO_TYPES.has(m[3]!)) out.set(m[1]!, { num: Number(m[2]), type: m[3] as ProtoType, repeated: !!m[4] });
  }
  return out;
}

const MIN_I32 = -0x80000000;
const MAX_U32 = 0xffffffff;
const MIN_I64 = -(2n ** 63n);
const MAX_I64 = 2n ** 63n - 1n;

/** The value as the proto type holds it, or undefined when it does not fit. */
function fit(v: number | bigint, type: ProtoType): number | bigint | undefined {
  switch (type) {
    case 'int32':
      return v >= MIN_I32 && v <= 0x7fffffff ? v : undefined;
    case 'uint32':
      return v >= 0 && v <= MAX_U32 ? v : undefined;
    case 'int64':
      return typeof v === 'number' || (v >= MIN_I64 && v <= MAX_I64) ? v : undefined;
    case 'uint64':
      return v >= 0 ? v : undefined;
    case 'bool':
      return v === 0 || v === 1 || v === 0n || v === 1n ? v : undefined;
    default:
      return undefined;
  }
}

/** A string field's bytes up to its NUL, as the kernel wrote them. */
export function stringBytes(ev: TraceEvent, f: Field): Buffer {
  const [start, n] = arraySpan(ev.buf, ev.off, ev.len, f);
  const from = ev.off + Math.min(start, ev.len);
  const to = ev.off + Math.min(start + n, ev.len);
  const z = ev.buf.indexOf(0, from);
  return ev.buf.subarray(from, z >= 0 && z < to ? z : to);
}

const isInt = (f: Field) => [1, 2, 4, 8].includes(f.size) && f.arrayLen < 0;
const isIntArray = (f: Field) => !f.isString && f.arrayLen >= 0 && [1, 2, 4, 8].includes(f.elemSize);

/** The typed encoder for fmt, or undefined when a field of fmt has no counterpart of its kind in the message. */
export function typedEncoder(fmt: EventFormat, spec: string): Encoder | undefined {
  const proto = protoFields(spec);
  const plan: { f: Field; p: ProtoField }[] = [];
  for (const f of fmt.fields) {
    const p = proto.get(f.name);
    if (!p) return undefined;
    const ok = p.type === 'string' ? f.isString && !p.repeated : p.repeated ? isIntArray(f) : isInt(f);
    if (!ok) return undefined;
    plan.push({ f, p });
  }
  return (ev, w) => {
    for (const { f, p } of plan) {
      if (p.type === 'string') {
        w.bytes(p.num, stringBytes(ev, f));
      } else if (p.repeated) {
        const [start, n] = arraySpan(ev.buf, ev.off, ev.len, f);
        for (let at = start; at + f.elemSize <= Math.min(start + n, ev.len); at += f.elemSize) {
          const v = fit(readInt(ev.buf, ev.off + at, f.elemSize, f.signed), p.type);
          if (v === undefined) return false;
          w.int(p.num, v);
        }
      } else {
        const v = fit(f.size === 8 ? ev.big(f) : ev.num(f), p.type);
        if (v === undefined) return false;
        w.int(p.num, v);
      }
    }
    return true;
  };
}

/** GenericFtraceEvent: the event's name and each field, integers as int/uint, the rest as text. */
export function genericEncoder(fmt: EventFormat): Encoder {
  const name = Buffer.from(fmt.name, 'utf8');
  const scratch = new ProtoWriter(256);
  const fields = fmt.fields.map((f) => ({ f, head: new ProtoWriter(32).string(GENERIC_FIELD.name, f.name).view() }));
  return (ev, w) => {
    w.bytes(GENERIC_EVENT.eventName, name);
    for (const { f, head } of fields) {
      scratch.reset();
      scratch.raw(head);
      if (f.isString) scratch.bytes(GENERIC_FIELD.strValue, stringBytes(ev, f));
      else if (!isInt(f)) {
        const v = ev.value(f);
        scratch.string(GENERIC_FIELD.strValue, Buffer.isBuffer(v) ? v.toString('hex') : Array.isArray(v) ? (v as (number | bigint)[]).join(',') : String(v));
      } else scratch.int(f.signed ? GENERIC_FIELD.intValue : GENERIC_FIELD.uintValue, f.size === 8 ? ev.big(f) : ev.num(f));
      w.bytes(GENERIC_EVENT.field, scratch.buf, 0, scratch.len);
    }
    return true;
  };
}

/** A record whose format the trace lacks: its id in the name, its bytes in hex. */
export function unknownPayload(id: number): EventPayload {
  const name = Buffer.from(`unknown-${id}`, 'utf8');
  const head = new ProtoWriter(32).string(GENERIC_FIELD.name, 'data').view();
  const scratch = new ProtoWriter(256);
  const encode: Encoder = (ev, w) => {
    scratch.reset();
    scratch.raw(head).string(GENERIC_FIELD.strValue, ev.buf.toString('hex', ev.off, ev.off + ev.len));
    w.bytes(GENERIC_EVENT.eventName, name).bytes(GENERIC_EVENT.field, scratch.buf, 0, scratch.len);
    return true;
  };
  return { field: FTRACE_EVENT.generic, encode, generic: encode };
}

export interface EventPayload {
  /** FtraceEvent field number of the typed message, or FTRACE_EVENT.generic. */
  field: number;
  encode: Encoder;
  generic: Encoder;
}

/** Per event format: its typed message when the format matches one, and the generic fallback. */
export function payloadOf(fmt: EventFormat): EventPayload {
  const generic = genericEncoder(fmt);
  const entry = FTRACE_PROTOS[`${fmt.system}:${fmt.name}`];
  const typed = entry && typedEncoder(fmt, entry[1]);
  return typed ? { field: entry[0], encode: typed, generic } : { field: FTRACE_EVENT.generic, encode: generic, generic };
}
