/**
 * Field numbers of Perfetto's trace protos (google/perfetto protos/perfetto/): trace/trace.proto,
 * trace/trace_packet.proto, trace/ftrace/ftrace_event_bundle.proto, ftrace_event.proto,
 * generic.proto, trace/ps/process_tree.proto, common/system_info.proto.
 */

/** Trace.packet */
export const TRACE_PACKET = 1;

export const PACKET = { ftraceEvents: 1, processTree: 2, timestamp: 8, trustedSequenceId: 10, systemInfo: 45 } as const;

export const BUNDLE = {
  cpu: 1,
  event: 2,
  lostEvents: 3,
  ftraceClock: 5,
  ftraceTimestamp: 6,
  bootTimestamp: 7,
  previousBundleEndTimestamp: 10,
} as const;

/**
 * FtraceEvent's common fields and its generic payload. common_flags (5) is left out: the importer
 * (ftrace_parser.cc ParseFtraceEvent) takes every field but pid and timestamp for the event's payload.
 */
export const FTRACE_EVENT = { timestamp: 1, pid: 2, generic: 327 } as const;

export const GENERIC_EVENT = { eventName: 1, field: 2 } as const;
export const GENERIC_FIELD = { name: 1, strValue: 3, intValue: 4, uintValue: 5 } as const;

/** FtraceClock (ftrace_event_bundle.proto); "boot" is the default and has no value. */
export const FTRACE_CLOCK = { global: 2, local: 3, monoRaw: 4 } as const;

export const PROCESS_TREE = { processes: 1, threads: 2 } as const;
export const PROCESS = { pid: 1, ppid: 2, cmdline: 3, cmdlineIsComm: 9 } as const;
export const THREAD = { tid: 1, name: 2, tgid: 3 } as const;

export const SYSTEM_INFO = { utsname: 1 } as const;
export const UTSNAME = { sysname: 1, version: 2, release: 3, machine: 4 } as const;
