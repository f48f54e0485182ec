/**
 * A CPU's records from lkst-bpf-run (cpuN.rec: u64 ts, u32 len, u32 0, data padded to 8 bytes)
 * turned into kernel ring-buffer pages (ringbuf/page-writer.ts), so BPF handlers' output is one more
 * page stream of the trace, read, merged and counted like a tracefs buffer's.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PageWriter } from '../ringbuf/page-writer.js';
import { cpuStatsToText } from '../tracefs/instance.js';
import { cpuStatsText, unknownCpuText } from '../trace/loss.js';
import type { CpuPages, ExtraBuffer } from '../trace/writer-port.js';

export interface BpfRecord {
  ts: bigint;
  data: Buffer;
  /** The header's second word (0 in cpuN.rec; an alert's unit << 16 | CPU in alerts.rec). */
  word: number;
}

/** The records of one cpuN.rec file, in file order. Throws on a file cut inside a record. */
export function readRecordFile(path: string): BpfRecord[] {
  const b = readFileSync(path);
  const out: BpfRecord[] = [];
  for (let p = 0; p < b.length; ) {
    if (p + 16 > b.length) throw new Error(`${path}: a record header is cut off at byte ${p}`);
    const ts = b.readBigUInt64LE(p);
    const len = b.readUInt32LE(p + 8);
    const end = p + 16 + len;
    if (end > b.length) throw new Error(`${path}: a record of ${len} bytes is cut off at byte ${p}`);
    out.push({ ts, data: b.subarray(p + 16, end), word: b.readUInt32LE(p + 12) });
    p = end + ((8 - (len % 8)) % 8);
  }
  return out;
}

/**
 * Writes a CPU's records as pages into pagesPath; returns the records and pages written. Records
 * are put in time order first: a program's stamp is taken before it reserves its slot, so two
 * programs on one CPU (an interrupt between stamp and reserve) can land out of order.
 */
export function writeRecordPages(records: BpfRecord[], pageSize: number, pagesPath: string): { records: number; pages: number } {
  const sorted = records.map((r, i) => ({ r, i })).sort((a, b) => (a.r.ts < b.r.ts ? -1 : a.r.ts > b.r.ts ? 1 : a.i - b.i));
  const fd = openSync(pagesPath, 'w');
  try {
    const w = new PageWriter(pageSize, (page) => writeSync(fd, page));
    for (const { r } of sorted) w.add(r.ts, r.data);
    w.flush();
    return { records: sorted.length, pages: w.pages };
  } finally {
    closeSync(fd);
  }
}

/**
 * The BPF handlers' records of a run as one more buffer of the trace (named `bpf`, clock `mono`):
 * each CPU's records as pages in dir, and a CPUSTAT per CPU whose counters say what was lost (the
 * records the programs could not reserve), so every command counts them like a tracefs buffer's.
 */
export function bpfTraceBuffer(
  cpus: readonly { cpu: number; lost: number }[],
  recordFile: (cpu: number) => string,
  dir: string,
  pageSize: number,
  name = 'bpf',
  missed?: BufferMisses,
): { buffer: ExtraBuffer; records: number } {
  return recordsTraceBuffer(cpus, (cpu) => (existsSync(recordFile(cpu)) ? readRecordFile(recordFile(cpu)) : []), dir, pageSize, name, missed);
}

/** Records made in lkst (per CPU, with each CPU's lost count) as a buffer of the trace, as bpfTraceBuffer. */
export function recordsTraceBuffer(
  cpus: readonly { cpu: number; lost: number }[],
  recordsOf: (cpu: number) => BpfRecord[],
  dir: string,
  pageSize: number,
  name: string,
  missed: BufferMisses = { perCpu: new Map(), unknown: 0 },
): { buffer: ExtraBuffer; records: number } {
  const pages: CpuPages[] = [];
  const stats: (string | undefined)[] = [];
  let records = 0;
  for (const c of cpus) {
    const recs = recordsOf(c.cpu);
    const path = join(dir, `${name}-cpu${c.cpu}.pages`);
    records += writeRecordPages(recs, pageSize, path).records;
    pages.push({ cpu: c.cpu, source: path });
    const end = cpuStatsToText({ entries: 0, overrun: 0, commitOverrun: 0, bytes: 0, oldestEventTs: 0, nowTs: 0, droppedEvents: c.lost + (missed.perCpu.get(c.cpu) ?? 0), readEvents: recs.length });
    stats[c.cpu] = cpuStatsText(end, { overrun: 0, dropped: 0, commitOverrun: 0, entries: 0 }, 0);
  }
  const first = cpus[0]?.cpu;
  if (missed.unknown && first !== undefined) stats[first] += unknownCpuText(missed.unknown, MISSED_WHY);
  return { buffer: { name, clock: 'mono', pageSize, cpus: pages, cpuStats: stats }, records };
}

/** Why events of a BPF buffer were missed on no known CPU. */
export const MISSED_WHY = "missed by the kernel's BPF recursion guard";

/**
 * Events the kernel ran no program for (its recursion guard): per CPU where a guard counted them
 * (lost like records that found the ring full: the CPUSTAT's dropped events), and those of no known
 * CPU (one uncertain line, unknownCpuText).
 */
export interface BufferMisses {
  perCpu: ReadonlyMap<number, number>;
  unknown: number;
}
