/** Options of a trace.dat file: the records themselves and what they say. */
import type { Cursor } from './cursor.js';
import { Opt } from './layout.js';

export interface OptionRecord {
  id: number;
  data: Buffer;
}

/**
 * Reads option records up to DONE. In v7 DONE carries the offset of the next options section
 * (0: none); in v6 it is a bare id.
 */
export function readOptionRecords(c: Cursor, version: number, out: OptionRecord[]): number {
  for (;;) {
    const id = c.u16('option id');
    if (version < 7 && id === Opt.DONE) return 0;
    const size = c.u32('option size');
    const data = c.bytes(size, 'option data');
    if (id === Opt.DONE) {
      if (data.length < 8) throw c.fail('DONE option shorter than 8 bytes');
      const next = data.readBigUInt64LE(0);
      if (next > BigInt(Number.MAX_SAFE_INTEGER)) throw c.fail(`next options offset ${next} is impossibly large`);
      return Number(next);
    }
    out.push({ id, data });
  }
}

export interface BufferCpu {
  cpu: number;
  offset: number;
  size: number;
}

/** A BUFFER (or BUFFER_TEXT) option: where one instance's data is. */
export interface BufferOption {
  name: string;
  /** v7: the flyrecord section; v6: the instance's "flyrecord" tag. */
  offset: number;
  clock?: string;
  pageSize?: number;
  cpus?: BufferCpu[];
  latency: boolean;
}

export interface FileOptions {
  /** The current clock, from TRACECLOCK ("[local] global ..."). */
  clock?: string;
  uname?: string;
  version?: string;
  /** lkst's LKST_MASKSET option. */
  maskset?: string;
  /** lkst's LKST_COUNTS option (JSON). */
  counts?: string;
  /** lkst's LKST_CLOCKS option (JSON, file/clock-offsets.ts). */
  clockOffsets?: string;
  cpuCount?: number;
  /** Added to every timestamp on reading (OFFSET option, in clock units). */
  tsOffset: bigint;
  /** DATE option (difference to wall-clock time, as trace-cmd stored it). */
  date?: string;
  traceId?: bigint;
  /** CPUSTAT texts by buffer name ("" for the top buffer), indexed by CPU. */
  cpuStats: Map<string, (string | undefined)[]>;
  buffers: BufferOption[];
  /** v7 section offsets by section id (HEADER_INFO, EVENT_FORMATS, ...). */
  sections: Map<number, number>;
  /** LAST_BOOT_INFO (trace-cmd 3.4): "INSTANCE:last_boot_info text". */
  lastBootInfo?: string;
  /** Option ids lkst does not interpret. */
  other: number[];
}

function str(data: Buffer): string {
  const z = data.indexOf(0);
  return data.toString('utf8', 0, z < 0 ? data.length : z);
}

function parseBigInt(s: string): bigint {
  try {
    return BigInt(s.trim());
  } catch {
    return 0n;
  }
}

/** Parses one BUFFER/BUFFER_TEXT option; undefined when it is cut short. */
function parseBuffer(data: Buffer, id: number, version: number): BufferOption | undefined {
  let p = 0;
  const need = (n: number): boolean => p + n <= data.length;
  const cstr = (): string | undefined => {
    const z = data.indexOf(0, p);
    if (z < 0) return undefined;
    const s = data.toString('utf8', p, z);
    p = z + 1;
    return s;
  };
  if (!need(8)) return undefined;
  const offset = Number(BigInt.asUintN(53, data.readBigUInt64LE(0)));
  p = 8;
  const name = cstr();
  if (name === undefined) return undefined;
  const latency = id === Opt.BUFFER_TEXT;
  if (version < 7) return { name, offset, latency };
  const clock = cstr();
  if (clock === undefined) return undefined;
  if (latency) return { name, offset, clock, latency };
  if (!need(8)) return undefined;
  const pageSize = data.readUInt32LE(p);
  const n = data.readUInt32LE(p + 4);
  p += 8;
  if (!need(n * 20)) return undefined;
  const cpus: BufferCpu[] = [];
  for (let i = 0; i < n; i++, p += 20) {
    cpus.push({ cpu: data.readUInt32LE(p), offset: Number(BigInt.asUintN(53, data.readBigUInt64LE(p + 4))), size: Number(BigInt.asUintN(53, data.readBigUInt64LE(p + 12))) });
  }
  return { name, offset, clock, pageSize, cpus, latency };
}

/** Splits CPUSTAT options ("CPU: N\n<stats>", with "\nBuffer: NAME\n\n" before an instance's) by buffer and CPU. */
function addCpuStat(stats: Map<string, (string | undefined)[]>, current: { name: string }, text: string): void {
  const buf = /^\s*Buffer: (.*)\n/.exec(text);
  if (buf && !/^CPU: /m.test(text.slice(buf[0].length))) {
    current.name = buf[1]!;
    return;
  }
  const m = /^CPU: (\d+)\n/.exec(text);
  if (!m) return;
  const cpu = Number(m[1]);
  if (cpu > 65535) return;
  let list = stats.get(current.name);
  if (!list) stats.set(current.name, (list = []));
  list[cpu] = text.slice(m[0].length);
}

export function interpretOptions(records: OptionRecord[], version: number, warnings: string[]): FileOptions {
  const o: FileOptions = { tsOffset: 0n, cpuStats: new Map(), buffers: [], sections: new Map(), other: [] };
  const statBuffer = { name: '' };
  for (const { id, data } of records) {
    switch (id) {
      case Opt.TRACECLOCK: {
        const m = /\[([^\]\s]+)\]/.exec(str(data));
        if (m) o.clock = m[1];
        break;
      }
      case Opt.UNAME:
        o.uname = str(data);
        break;
      case Opt.VERSION:
        o.version = str(data);
        break;
      case Opt.LKST_MASKSET:
        o.maskset = str(data);
        break;
      case Opt.LKST_COUNTS:
        o.counts = str(data);
        break;
      case Opt.LKST_CLOCKS:
        o.clockOffsets = str(data);
        break;
      case Opt.CPUCOUNT:
        if (data.length >= 4) o.cpuCount = data.readUInt32LE(0);
        break;
      case Opt.OFFSET:
        o.tsOffset += parseBigInt(str(data));
        break;
      case Opt.DATE:
        o.date = str(data);
        break;
      case Opt.TRACEID:
        if (data.length >= 8) o.traceId = data.readBigUInt64LE(0);
        break;
      case Opt.CPUSTAT:
        addCpuStat(o.cpuStats, statBuffer, str(data));
        break;
      case Opt.BUFFER:
      case Opt.BUFFER_TEXT: {
        const b = parseBuffer(data, id, version);
        if (b) o.buffers.push(b);
        else warnings.push(`a BUFFER option of ${data.length} bytes is cut short; that buffer is skipped`);
        break;
      }
      case Opt.LAST_BOOT_INFO:
        o.lastBootInfo = str(data);
        break;
      case Opt.HEADER_INFO:
      case Opt.FTRACE_EVENTS:
      case Opt.EVENT_FORMATS:
      case Opt.KALLSYMS:
      case Opt.PRINTK:
      case Opt.CMDLINES:
      // trace-cmd 3.4 (trace-input.c handle_options): BTF_FILE and MODULES_FILE are sections like kallsyms.
      case Opt.BTF_FILE:
      case Opt.MODULES_FILE:
        if (data.length >= 8) o.sections.set(id, Number(BigInt.asUintN(53, data.readBigUInt64LE(0))));
        break;
      default:
        o.other.push(id);
    }
  }
  return o;
}
