/**
 * logd's segments survive the daemon: each segment's page files get a journal beside them (the
 * buffers, their CPUs and the kernel's counters when the segment began, and when it ended once it
 * has), and each daemon run a journal of what every file needs that the pages do not carry
 * (formats, clock, machine). A daemon that starts in the directory turns the segments of a killed
 * one into trace files before it reads on:
 * - the segment had ended (it was being written when the daemon died): its end counters;
 * - it had not, and its buffers are still there: the counters now. The events the dead daemon had
 *   not read are still in the buffers and go into the new daemon's first file, whose window starts
 *   at those same counters, so the two files share their boundary exactly, as rotated files do;
 * - the buffers are gone (a reboot): the pages, and the loss after them marked uncertain.
 * A write the daemon did not finish leaves a temporary file: it is removed, its pages are written again.
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { truncateToWholePages } from '../base/page-files.js';
import { join } from 'node:path';
import { Instance, cpuStatsToText, type CpuStats } from '../tracefs/instance.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import type { ExtraBuffer, TraceWriter } from '../trace/writer-port.js';
import { countPageFile } from '../record/cpu-reader.js';
import { collectFixedMeta, eventFormatTexts, readProcFile, savedCmdlines } from '../record/live-meta.js';
import { readNotWritten, recoveredStatsText } from '../record/loss-stats.js';
import { bootId, processStart } from '../base/owner.js';
import { scanPageFile, tracepointsById } from './formats.js';
import { bufferNameOf } from './name.js';

type FixedMeta = ReturnType<typeof collectFixedMeta>;

export interface RunJournal {
  version: 1;
  pid: number;
  pidStart: number;
  bootId: string;
  /** Per buffer: the meta of a file (formats of the events on when the run began). */
  buffers: { instance: string; meta: FixedMeta }[];
}

export interface SegmentJournal {
  version: 1;
  pid: number;
  seq: number;
  startedAt: string;
  buffers: { instance: string; pageSize: number; files: { cpu: number; source: string }[]; start: (CpuStats | null)[]; end?: (CpuStats | null)[] }[];
}

const SEGMENT_RE = /^\.lkst-(\d+)-(\d+)\.segment\.json$/;
const WRITER_TMP_RE = /^\..+\.(\d+)\.tmp$/;

function runPath(dir: string, pid: number): string {
  return join(dir, `.lkst-logd-${pid}.json`);
}

export function segmentJournalPath(dir: string, pid: number, seq: number): string {
  return join(dir, `.lkst-${pid}-${seq}.segment.json`);
}

function writeAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value));
  renameSync(`${path}.tmp`, path);
}

/** Writes this daemon's run journal (once, at start). */
export function writeRunJournal(dir: string, instances: readonly Instance[], pageSizeOf: (i: Instance) => number): void {
  const j: RunJournal = {
    version: 1,
    pid: process.pid,
    pidStart: processStart(process.pid) ?? 0,
    bootId: bootId(),
    buffers: instances.map((inst) => ({ instance: inst.name, meta: collectFixedMeta(inst, inst.enabledTracepoints(), pageSizeOf(inst)) })),
  };
  writeAtomic(runPath(dir, process.pid), j);
}

export function removeRunJournal(dir: string): void {
  rmSync(runPath(dir, process.pid), { force: true });
}

export function writeSegmentJournal(dir: string, j: SegmentJournal): void {
  writeAtomic(segmentJournalPath(dir, j.pid, j.seq), j);
}

export function removeSegmentJournal(dir: string, pid: number, seq: number): void {
  rmSync(segmentJournalPath(dir, pid, seq), { force: true });
}


function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function alive(run: RunJournal | undefined, pid: number): boolean {
  if (!run) return existsSync(`/proc/${pid}`) && pid === process.pid;
  return run.bootId === bootId() && processStart(pid) === run.pidStart;
}

export interface RecoveredSegments {
  /** One line per file written or thing removed, for the operator. */
  lines: string[];
  /** Per buffer: the counters a recovered window ended at, where the next window must start. */
  startAt: Map<string, (CpuStats | undefined)[]>;
  events: number;
}

/** Turns the segments killed daemons left in dir into trace files (see the file comment). */
export async function recoverSegments(dir: string, opts: { writer: TraceWriter; nameFor: (startedAt: Date) => string; kallsyms: boolean }): Promise<RecoveredSegments> {
  const out: RecoveredSegments = { lines: [], startAt: new Map(), events: 0 };
  const names = readdirSync(dir);
  const dead = new Set<number>();
  const segments = names
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), seq: Number(m[2]) }))
    .sort((a, b) => a.pid - b.pid || a.seq - b.seq);
  const runs = new Map<number, RunJournal | undefined>();
  const runOf = (pid: number) => {
    if (!runs.has(pid)) runs.set(pid, readJson<RunJournal>(runPath(dir, pid)));
    return runs.get(pid);
  };
  // In the order they were recorded: each window's end is where the next one starts.
  const dead_: { pid: number; seq: number; j: SegmentJournal | undefined; run: RunJournal | undefined }[] = [];
  for (const s of segments) {
    if (alive(runOf(s.pid), s.pid)) continue;
    dead.add(s.pid);
    dead_.push({ ...s, j: readJson<SegmentJournal>(segmentJournalPath(dir, s.pid, s.seq)), run: runOf(s.pid) });
  }
  dead_.sort((a, b) => (a.j?.startedAt ?? '').localeCompare(b.j?.startedAt ?? '') || a.seq - b.seq);
  for (const { pid, seq, j, run } of dead_) {
    if (!j || !run) {
      out.lines.push(`kept ${segmentJournalPath(dir, pid, seq)}: ${!j ? 'damaged' : 'its run journal is missing'}; its page files cannot be made a trace`);
      continue;
    }
    const written = await writeSegment(dir, j, run, opts, out);
    if (written) out.lines.push(written);
  }
  // Temporary files of writes a dead daemon did not finish (their pages were written again above).
  for (const name of names) {
    const pid = Number(WRITER_TMP_RE.exec(name)?.[1]);
    if (!pid || !dead.has(pid)) continue;
    rmSync(join(dir, name), { force: true });
    out.lines.push(`removed ${join(dir, name)}: an unfinished write of the killed lkst logd (pid ${pid})`);
  }
  for (const pid of dead) if (!readdirSync(dir).some((f) => SEGMENT_RE.exec(f)?.[1] === String(pid))) rmSync(runPath(dir, pid), { force: true });
  return out;
}

async function writeSegment(dir: string, j: SegmentJournal, run: RunJournal, opts: { writer: TraceWriter; nameFor: (startedAt: Date) => string; kallsyms: boolean }, out: RecoveredSegments): Promise<string | undefined> {
  const sameBoot = run.bootId === bootId();
  const bufs: (ExtraBuffer & { name: string; clock: string; pageSize: number; cpus: { cpu: number; source: string }[] })[] = [];
  let events = 0;
  let how = 'its end was recorded';
  const ends = new Map<string, (CpuStats | undefined)[]>();
  for (const b of j.buffers) {
    const files = b.files.filter((f) => existsSync(f.source));
    for (const f of files) truncateToWholePages(f.source, b.pageSize);
    const counters = files.map((f) => countPageFile(f.cpu, f.source, b.pageSize));
    events += counters.reduce((s, c) => s + c.events, 0);
    let end = b.end;
    if (!end && sameBoot && Instance.exists(b.instance)) {
      // Unread events stay in the buffer for the next window.
      const inst = Instance.open(b.instance);
      const now = inst.cpus().map((c) => inst.cpuStats(c));
      end = b.files.map((f) => now[inst.cpus().indexOf(f.cpu)] ?? null);
      how = 'its window ends where the next file begins';
    }
    if (end) ends.set(b.instance, end.map((e) => e ?? undefined));
    const cpuStats: (string | undefined)[] = [];
    counters.forEach((cap) => {
      const at = b.files.findIndex((f) => f.cpu === cap.cpu);
      const s = b.start[at] ?? undefined;
      const e = end?.[at];
      // Read from the kernel but never written (killed between a read and its write, a torn page).
      const inTransit = e && s ? readNotWritten(s, e, cap.events) : 0;
      cpuStats[cap.cpu] = recoveredStatsText(cap, s, e ? { text: cpuStatsToText(e), stats: e } : undefined, inTransit, `lkst logd (pid ${j.pid}) was killed and ${b.instance} is gone; events after its last page are unknown`);
    });
    if (!end) how = 'its buffer is gone: the loss after its pages is uncertain';
    const meta = run.buffers.find((r) => r.instance === b.instance)?.meta;
    bufs.push({ name: bufferNameOf(b.instance) ?? b.instance, clock: meta?.clock ?? 'local', pageSize: b.pageSize, cpus: files, cpuStats });
  }
  const [main, ...rest] = bufs;
  const mainMeta = run.buffers[0]?.meta;
  // A window with no events makes no file: the next window then starts where the last file's ended,
  // so the losses of this one are counted there.
  if (!main || !mainMeta || events === 0) {
    removeSegment(dir, j);
    return events === 0 ? undefined : `removed the segment ${j.pid}-${j.seq}: no buffer meta`;
  }
  const ids = new Set<number>();
  for (const b of bufs) for (const f of b.cpus) scanPageFile(f.source, b.pageSize, ids);
  const meta: TraceMeta = {
    ...mainMeta,
    // Formats by the ids in the pages where the kernel is still the one that wrote them.
    eventFormats: sameBoot ? eventFormatTexts(tracepointsById(ids)) : mergedFormats(run),
    kallsyms: sameBoot && opts.kallsyms ? readProcFile('/proc/kallsyms') : '',
    cmdlines: sameBoot ? savedCmdlines() : '',
    pageSize: main.pageSize,
    clock: main.clock,
    instance: main.name,
    cpuStats: main.cpuStats,
  };
  const path = join(dir, opts.nameFor(new Date(j.startedAt)));
  await opts.writer(path, meta, main.cpus, { buffers: rest });
  removeSegment(dir, j);
  // The next window starts where this one ended (recorded or now): the loss between is counted once.
  for (const [name, end] of ends) out.startAt.set(name, end);
  out.events += events;
  return `wrote ${path} (${events} events) from the segment the killed lkst logd (pid ${j.pid}) left; ${how}`;
}

/** The formats every buffer's events had when the run began, each once. */
function mergedFormats(run: RunJournal): TraceMeta['eventFormats'] {
  const bySystem = new Map<string, Set<string>>();
  for (const b of run.buffers) for (const e of b.meta.eventFormats) for (const f of e.formats) (bySystem.get(e.system) ?? bySystem.set(e.system, new Set()).get(e.system)!).add(f);
  return [...bySystem].map(([system, formats]) => ({ system, formats: [...formats] }));
}

function removeSegment(dir: string, j: SegmentJournal): void {
  for (const b of j.buffers) for (const f of b.files) rmSync(f.source, { force: true });
  removeSegmentJournal(dir, j.pid, j.seq);
}

