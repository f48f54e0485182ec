/** Constants of the trace.dat layout (trace-cmd's Documentation/trace-cmd/trace-cmd.dat.v6/v7). */

/** 0x17 0x08 0x44 then "tracing". */
export const MAGIC = Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing', 'latin1')]);

/** Option ids; in v7 the ids of metadata sections are the ids of the options that point to them. */
export const Opt = {
  DONE: 0,
  DATE: 1,
  CPUSTAT: 2,
  BUFFER: 3,
  TRACECLOCK: 4,
  UNAME: 5,
  HOOK: 6,
  OFFSET: 7,
  CPUCOUNT: 8,
  VERSION: 9,
  PROCMAPS: 10,
  TRACEID: 11,
  TIME_SHIFT: 12,
  GUEST: 13,
  TSC2NSEC: 14,
  STRINGS: 15,
  HEADER_INFO: 16,
  FTRACE_EVENTS: 17,
  EVENT_FORMATS: 18,
  KALLSYMS: 19,
  PRINTK: 20,
  CMDLINES: 21,
  BUFFER_TEXT: 22,
  BTF_FILE: 23,
  LAST_BOOT_INFO: 24,
  MODULES_FILE: 25,
  /**
   * lkst's own: the maskset in force when the file was written (text). Far from trace-cmd's ids,
   * which it skips silently as it does any id it does not know (checked with trace-cmd 3.1.6).
   */
  LKST_MASKSET: 0x4c4b,
  /** lkst's own: the count tables of BPF count handlers at the end of recording (JSON). */
  LKST_COUNTS: 0x4c4c,
  /** lkst's own: each buffer's measured offset to the first buffer's clock (JSON, trace/clocks.ts). */
  LKST_CLOCKS: 0x4c4d,
} as const;

/** Section header flag: the section's data is compressed. */
export const SEC_FL_COMPRESS = 1;
/** Section header: u16 id, u16 flags, u32 description string id, u64 size. */
export const SECTION_HEADER_SIZE = 16;

/** The ten-byte tags of version 6's data part. */
export const TAG_OPTIONS = 'options  ';
export const TAG_FLYRECORD = 'flyrecord';
export const TAG_LATENCY = 'latency  ';

/** CPUSTAT options: one per CPU, prefixed "CPU: N"; a "Buffer: NAME" one opens the stats of an instance. */
export function cpuStatOption(cpu: number, statsText: string): string {
  return `CPU: ${cpu}\n${statsText}`;
}
export function bufferStatOption(name: string): string {
  return `\nBuffer: ${name}\n\n`;
}
