/**
 * Perfetto's protobuf trace: per-CPU FtraceEventBundle packets with typed sched/irq/syscall events
 * (so Perfetto derives CPU tracks and thread states itself), every other event as a generic
 * ftrace event, and a process tree naming the tasks. Field numbers are those of Perfetto's protos
 * (protos/perfetto/trace/trace.proto, trace_packet.proto, ftrace/ftrace_event_bundle.proto,
 * ftrace/ftrace_event.proto, ftrace/sched.proto, irq.proto, ftrace.proto, raw_syscalls.proto,
 * generic.proto, ps/process_tree.proto).
 */
import type { EventFormat, Field } from '../events/format.js';
import type { TraceEvent } from '../analysis/event.js';
import type { TraceInput } from '../analysis/input.js';
import { Pass } from '../analysis/pass.js';
import type { FileSink } from './file-sink.js';
import { ProtoWriter } from './protobuf.js';

/** Trace.packet */
const TRACE_PACKET = 1;
/** TracePacket fields. */
const PKT = { ftraceEvents: 1, processTree: 2, trustedSequenceId: 10 } as const;
/** FtraceEventBundle fields. */
const BUNDLE = { cpu: 1, event: 2, lostEvents: 3, ftraceClock: 5 } as const;
/** FtraceEvent fields: common ones, then the oneof payloads used here. */
export const FTRACE_EVENT = {
  timestamp: 1,
  pid: 2,
  commonFlags: 5,
  print: 3,
  sched_switch: 4,
  sched_wakeup: 17,
  sched_waking: 20,
  softirq_entry: 24,
  softirq_exit: 25,
  softirq_raise: 26,
  irq_handler_entry: 36,
  irq_handler_exit: 37,
  sched_wakeup_new: 114,
  sched_process_exec: 237,
  sched_process_exit: 238,
  sched_process_fork: 239,
  generic: 327,
  sys_enter: 329,
  sys_exit: 330,
} as const;
/** FtraceClock values for the bundle. */
const CLOCKS: Record<string, number> = { global: 2, local: 3, 'mono_raw': 4 };

type Kind = 'str' | 'int' | 'uint' | 'u64list';
/** A payload message: proto field number and the trace field it comes from. */
type Spec = [protoField: number, traceField: string, kind: Kind][];

const SCHED_WAKE: Spec = [
  [1, 'comm', 'str'],
  [2, 'pid', 'int'],
  [3, 'prio', 'int'],
  [5, 'target_cpu', 'int'],
];

/** Typed payloads: ftrace system:name → FtraceEvent field and the payload's fields. */
const TYPED: Record<string, [number, Spec, { success?: boolean }?]> = {
  'sched:sched_switch': [
    FTRACE_EVENT.sched_switch,
    [
      [1, 'prev_comm', 'str'],
      [2, 'prev_pid', 'int'],
      [3, 'prev_prio', 'int'],
      [4, 'prev_state', 'int'],
      [5, 'next_comm', 'str'],
      [6, 'next_pid', 'int'],
      [7, 'next_prio', 'int'],
    ],
  ],
  'sched:sched_wakeup': [FTRACE_EVENT.sched_wakeup, SCHED_WAKE, { success: true }],
  'sched:sched_waking': [FTRACE_EVENT.sched_waking, SCHED_WAKE, { success: true }],
  'sched:sched_wakeup_new': [FTRACE_EVENT.sched_wakeup_new, SCHED_WAKE, { success: true }],
  'sched:sched_process_exec': [
    FTRACE_EVENT.sched_process_exec,
    [
      [1, 'filename', 'str'],
      [2, 'pid', 'int'],
      [3, 'old_pid', 'int'],
    ],
  ],
  'sched:sched_process_exit': [
    FTRACE_EVENT.sched_process_exit,
    [
      [1, 'comm', 'str'],
      [2, 'pid', 'int'],
      [4, 'prio', 'int'],
    ],
  ],
  'sched:sched_process_fork': [
    FTRACE_EVENT.sched_process_fork,
    [
      [1, 'parent_comm', 'str'],
      [2, 'parent_pid', 'int'],
      [3, 'child_comm', 'str'],
      [4, 'child_pid', 'int'],
    ],
  ],
  'irq:irq_handler_entry': [
    FTRACE_EVENT.irq_handler_entry,
    [
      [1, 'irq', 'int'],
      [2, 'name', 'str'],
    ],
  ],
  'irq:irq_handler_exit': [
    FTRACE_EVENT.irq_handler_exit,
    [
      [1, 'irq', 'int'],
      [2, 'ret', 'int'],
    ],
  ],
  'irq:softirq_entry': [FTRACE_EVENT.softirq_entry, [[1, 'vec', 'uint']]],
  'irq:softirq_exit': [FTRACE_EVENT.softirq_exit, [[1, 'vec', 'uint']]],
  'irq:softirq_raise': [FTRACE_EVENT.softirq_raise, [[1, 'vec', 'uint']]],
  'ftrace:print': [
    FTRACE_EVENT.print,
    [
      [1, 'ip', 'uint'],
      [2, 'buf', 'str'],
    ],
  ],
  'raw_syscalls:sys_enter': [
    FTRACE_EVENT.sys_enter,
    [
      [1, 'id', 'int'],
      [2, 'args', 'u64list'],
    ],
  ],
  'raw_syscalls:sys_exit': [
    FTRACE_EVENT.sys_exit,
    [
      [1, 'id', 'int'],
      [2, 'ret', 'int'],
    ],
  ],
};

type Encoder = (ev: TraceEvent, w: ProtoWriter) => void;

function typedEncoder(fmt: EventFormat, spec: Spec, extra: { success?: boolean } = {}): Encoder | undefined {
  const fields: [number, Field, Kind][] = [];
  for (const [num, name, kind] of spec) {
    const f = fmt.fieldByName.get(name);
    if (f) fields.push([num, f, kind]);
  }
  if (!fields.length) return undefined;
  return (ev, w) => {
    for (const [num, f, kind] of fields) {
      if (kind === 'str') w.string(num, ev.str(f));
      else if (kind === 'u64list') {
        const v = ev.value(f);
        if (Array.isArray(v)) for (const x of v) w.int(num, x);
      } else w.int(num, f.size === 8 ? ev.big(f) : ev.num(f));
    }
    if (extra.success) w.int(4, 1);
  };
}

function genericEncoder(fmt: EventFormat, scratch: ProtoWriter): Encoder {
  const name = Buffer.from(fmt.name, 'utf8');
  // Each field's name, encoded once: GenericFtraceEvent.Field.name (1).
  const fields = fmt.fields.map((f) => ({ f, head: new ProtoWriter(32).string(1, f.name).view() }));
  return (ev, w) => {
    w.bytes(1, name);
    for (const { f, head } of fields) {
      scratch.reset();
      scratch.raw(head);
      if (f.isString) scratch.string(3, ev.str(f));
      else if (f.arrayLen >= 0 || f.dynamic !== 'none') {
        const v = ev.value(f);
        scratch.string(3, Buffer.isBuffer(v) ? v.toString('hex') : Array.isArray(v) ? (v as (number | bigint)[]).join(',') : String(v));
      } else if (f.signed) scratch.int(4, f.size === 8 ? ev.big(f) : ev.num(f));
      else scratch.int(5, f.size === 8 ? ev.big(f) : ev.num(f));
      w.bytes(2, scratch.buf, 0, scratch.len);
    }
  };
}

const EVENTS_PER_BUNDLE = 2048;

interface Bundle {
  w: ProtoWriter;
  n: number;
  lost: boolean;
}

export interface PerfettoSummary {
  events: number;
  packets: number;
  bytes: number;
}

/** Streams the trace into sink as a Perfetto trace. */
export function exportPerfetto(input: TraceInput, sink: FileSink): PerfettoSummary {
  const reg = input.registry;
  const payloadW = new ProtoWriter(4096);
  const eventW = new ProtoWriter(4096);
  const fieldW = new ProtoWriter(256);
  const packetW = new ProtoWriter(1 << 16);
  const encoders = new Map<number, [number, Encoder]>();
  for (const fmt of reg.all()) {
    const typed = TYPED[`${fmt.system}:${fmt.name}`];
    const enc = typed && typedEncoder(fmt, typed[1], typed[2]);
    encoders.set(fmt.id, enc ? [typed[0], enc] : [FTRACE_EVENT.generic, genericEncoder(fmt, fieldW)]);
  }
  const clock = input.clock ? CLOCKS[input.clock] : undefined;
  const bundles = new Map<number, Bundle>();
  let packets = 0;
  let events = 0;
  const emit = (fill: (w: ProtoWriter) => void) => {
    packetW.reset();
    fill(packetW);
    const head = new ProtoWriter(16).tag(TRACE_PACKET, 2).varint(packetW.len);
    sink.write(head.view());
    sink.write(packetW.view());
    packets++;
  };
  const flush = (cpu: number, b: Bundle) => {
    if (!b.n && !b.lost) return;
    emit((p) => {
      const head = new ProtoWriter(16).int(BUNDLE.cpu, cpu);
      if (b.lost) head.int(BUNDLE.lostEvents, true);
      if (clock) head.int(BUNDLE.ftraceClock, clock);
      p.tag(PKT.ftraceEvents, 2).varint(head.len + b.w.len).raw(head.view()).raw(b.w.view());
      p.int(PKT.trustedSequenceId, cpu + 1);
    });
    b.w.reset();
    b.n = 0;
    b.lost = false;
  };
  const bundle = (cpu: number): Bundle => {
    let b = bundles.get(cpu);
    if (!b) bundles.set(cpu, (b = { w: new ProtoWriter(1 << 16), n: 0, lost: false }));
    return b;
  };
  const pass = new Pass(input);
  pass.add({
    lost: (cpu) => {
      bundle(cpu).lost = true;
    },
    event: (ev) => {
      const enc = encoders.get(ev.id);
      if (!enc) return;
      payloadW.reset();
      enc[1](ev, payloadW);
      eventW.reset();
      eventW.int(FTRACE_EVENT.timestamp, ev.ts).int(FTRACE_EVENT.pid, Math.max(0, ev.pid)).int(FTRACE_EVENT.commonFlags, ev.flags);
      eventW.bytes(enc[0], payloadW.buf, 0, payloadW.len);
      const b = bundle(ev.cpu);
      b.w.bytes(BUNDLE.event, eventW.buf, 0, eventW.len);
      b.n++;
      events++;
      if (b.n >= EVENTS_PER_BUNDLE) flush(ev.cpu, b);
    },
  });
  pass.run();
  for (const [cpu, b] of bundles) flush(cpu, b);
  // Task names, as the model knew them at the end.
  emit((p) =>
    p.message(PKT.processTree, (t) => {
      for (const task of pass.model.tasks.values()) {
        if (task.pid <= 0) continue;
        t.message(2, (th) => th.int(1, task.pid).string(2, task.comm), fieldW);
      }
    }),
  );
  return { events, packets, bytes: sink.bytes };
}
