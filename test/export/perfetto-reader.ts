/**
 * Reads a Perfetto trace back with Perfetto's field numbers, written out here from its protos
 * (trace.proto, trace_packet.proto, ftrace/ftrace_event_bundle.proto, ftrace/ftrace_event.proto,
 * ftrace/generic.proto, ps/process_tree.proto, common/system_info.proto), independently of lkst's writer.
 */
import { readFileSync } from 'node:fs';
import { all, fields, one, sint, str, type ProtoField } from './proto-reader.js';

export interface PfEvent {
  ts: number;
  pid: number;
  /** FtraceEvent field number of the payload (327: generic). */
  field: number;
  payload: ProtoField[];
  /** Every field of the FtraceEvent (to see that nothing else is written). */
  all: ProtoField[];
}

export interface PfBundle {
  cpu: number;
  lost: boolean;
  clock?: number;
  ftraceTs?: number;
  bootTs?: number;
  prevEnd?: number;
  events: PfEvent[];
  seq?: number;
}

export interface PfThread {
  tid: number;
  tgid?: number;
  name?: string;
}

export interface PfProcess {
  pid: number;
  ppid?: number;
  cmdline: string[];
  cmdlineIsComm: boolean;
}

export interface PfTrace {
  bundles: PfBundle[];
  trees: { ts?: number; threads: PfThread[]; processes: PfProcess[] }[];
  utsname?: { sysname?: string; version?: string; release?: string; machine?: string };
  /** Packets in file order, by their payload field (1 ftrace_events, 2 process_tree, 45 system_info). */
  order: number[];
}

const num = (f?: ProtoField) => (f?.int === undefined ? undefined : Number(f.int));

export function readPerfetto(path: string): PfTrace {
  const t: PfTrace = { bundles: [], trees: [], order: [] };
  for (const p of fields(readFileSync(path))) {
    if (p.num !== 1 || p.wire !== 2) throw new Error(`a Trace holds only packets (field 1), found field ${p.num}`);
    const pf = fields(p.bytes!);
    const payload = pf.find((f) => f.wire === 2);
    if (payload) t.order.push(payload.num);
    const b = one(pf, 1);
    if (b) {
      const bf = fields(b.bytes!);
      t.bundles.push({
        cpu: num(one(bf, 1))!,
        lost: num(one(bf, 3)) === 1,
        clock: num(one(bf, 5)),
        ftraceTs: sint(one(bf, 6)),
        bootTs: sint(one(bf, 7)),
        prevEnd: num(one(bf, 10)),
        seq: num(one(pf, 10)),
        events: all(bf, 2).map((e) => {
          const ef = fields(e.bytes!);
          const pl = ef.find((f) => f.wire === 2)!;
          return { ts: num(one(ef, 1))!, pid: num(one(ef, 2))!, field: pl.num, payload: fields(pl.bytes!), all: ef };
        }),
      });
    }
    const tree = one(pf, 2);
    if (tree) {
      const tf = fields(tree.bytes!);
      t.trees.push({
        ts: num(one(pf, 8)),
        threads: all(tf, 2).map((x) => {
          const f = fields(x.bytes!);
          return { tid: sint(one(f, 1))!, tgid: sint(one(f, 3)), name: str(one(f, 2)) };
        }),
        processes: all(tf, 1).map((x) => {
          const f = fields(x.bytes!);
          return { pid: sint(one(f, 1))!, ppid: sint(one(f, 2)), cmdline: all(f, 3).map((c) => str(c)!), cmdlineIsComm: num(one(f, 9)) === 1 };
        }),
      });
    }
    const si = one(pf, 45);
    if (si) {
      const u = one(fields(si.bytes!), 1);
      const uf = u ? fields(u.bytes!) : [];
      t.utsname = { sysname: str(one(uf, 1)), version: str(one(uf, 2)), release: str(one(uf, 3)), machine: str(one(uf, 4)) };
    }
  }
  return t;
}

/** GenericFtraceEvent: its name and fields (str_value 3, int_value 4, uint_value 5). */
export function genericFields(payload: ProtoField[]): { name: string; fields: Map<string, string | bigint> } {
  const out = new Map<string, string | bigint>();
  for (const f of all(payload, 2)) {
    const ff = fields(f.bytes!);
    const s = one(ff, 3);
    const i = one(ff, 4);
    const u = one(ff, 5);
    out.set(str(one(ff, 1))!, s ? s.bytes!.toString('latin1') : i ? BigInt.asIntN(64, i.int!) : u!.int!);
  }
  return { name: str(one(payload, 1))!, fields: out };
}
