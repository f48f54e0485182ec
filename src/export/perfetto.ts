/**
 * Perfetto's protobuf trace: the kernel version (SystemInfo), per-CPU FtraceEventBundles with each
 * event in Perfetto's typed message where the trace's format matches one and generic otherwise,
 * and ProcessTree packets for the thread groups the trace shows. The parts live in ./perfetto/.
 */
import type { TraceInput } from '../analysis/input.js';
import { Pass } from '../analysis/pass.js';
import type { FileSink } from './file-sink.js';
import { ProtoWriter } from './protobuf.js';
import { FTRACE_EVENT, PACKET } from './perfetto/ids.js';
import { payloadOf, unknownPayload, type EventPayload } from './perfetto/events.js';
import { PacketSink } from './perfetto/packets.js';
import { Bundles } from './perfetto/bundles.js';
import { parseUname, writeSystemInfo } from './perfetto/system-info.js';
import { TaskTree, writeProcessTree } from './perfetto/process-tree.js';

export interface PerfettoSummary {
  events: number;
  /** Events written as Perfetto's typed messages (the rest are generic). */
  typed: number;
  packets: number;
  bytes: number;
}

/** Streams the trace into sink as a Perfetto trace. The input's uname (trace.dat option, dump) becomes SystemInfo. */
export function exportPerfetto(input: TraceInput, sink: FileSink): PerfettoSummary {
  const out = new PacketSink(sink);
  const uts = input.uname ? parseUname(input.uname) : undefined;
  // First in the file: the importer reads SystemInfo as it comes, before it parses any event.
  if (uts) out.packet((p) => p.message(PACKET.systemInfo, (s) => writeSystemInfo(s, uts)));

  const payloads = new Map<number, EventPayload>();
  const payloadW = new ProtoWriter(4096);
  const eventW = new ProtoWriter(4096);
  // Every buffer's events go into the one set of per-CPU bundles: a FtraceEventBundle has no
  // instance field (protos/perfetto/trace/ftrace/ftrace_event_bundle.proto), FtraceConfig's
  // instance_name only picks the instance Perfetto itself records from, and the importer keys ftrace
  // tracks by CPU (src/trace_processor/importers/ftrace/ftrace_tokenizer.cc). Buffers cannot be
  // track groups in Perfetto; `lkst view` and SQL show them apart.
  const bundles = new Bundles(out, input.clock);
  const tree = new TaskTree(input.registry);
  let events = 0;
  let typed = 0;
  const pass = new Pass(input);
  pass.add({
    lost: (cpu) => bundles.lost(cpu),
    event: (ev) => {
      tree.event(ev);
      let pl = payloads.get(ev.id);
      if (!pl) payloads.set(ev.id, (pl = ev.fmt ? payloadOf(ev.fmt) : unknownPayload(ev.id)));
      payloadW.reset();
      let field = pl.field;
      if (!pl.encode(ev, payloadW)) {
        payloadW.reset();
        pl.generic(ev, payloadW);
        field = FTRACE_EVENT.generic;
      }
      if (field !== FTRACE_EVENT.generic) typed++;
      // timestamp, pid, then the payload: the order the importer's fast path expects (ftrace_tokenizer.cc).
      eventW.reset();
      eventW.int(FTRACE_EVENT.timestamp, ev.ts).int(FTRACE_EVENT.pid, Math.max(0, ev.pid));
      eventW.bytes(field, payloadW.buf, 0, payloadW.len);
      bundles.add(ev.cpu, ev.ts, eventW.view());
      events++;
    },
  });
  pass.run();
  bundles.end();
  const commOf = (pid: number) => pass.model.commOf(pid);
  for (const chunk of tree.chunks()) out.packet((p) => p.message(PACKET.processTree, (t) => writeProcessTree(t, chunk, commOf)), chunk.ts);
  sink.flush();
  return { events, typed, packets: out.packets, bytes: sink.bytes };
}
