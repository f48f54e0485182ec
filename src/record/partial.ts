/**
 * A recording that did not end in order (kill -9, power loss, a full disk) must still give a trace:
 * each recorder writes, beside its per-CPU page files, a small journal with everything a trace file
 * needs that the pages do not carry (formats, clock, the kernel's counters at the start, the output
 * it meant to write). `finishPartial` turns the journal and the pages into a trace's parts:
 * - the recorder died and its instance is still there: tracing is stopped, what the instance still
 *   holds is read into the page files, its counters give the exact loss, and the instance goes;
 * - the recorder stopped itself (a full disk): the journal's end counters give the exact loss;
 * - neither (power loss, the instance removed): the pages up to the last whole one, the loss after
 *   them marked uncertain with that reason.
 * Kallsyms and saved_cmdlines are read from the running kernel when it is still the same boot.
 */
import { existsSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { bootId, processStart } from '../base/owner.js';
import { forgetNote, recordingJournalPath, notedDirs, pageFilePath, truncateToWholePages, unadoptPageFile } from '../base/page-files.js';
import { Instance, parseCpuStats } from '../tracefs/instance.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { CpuReader, countPageFile } from './cpu-reader.js';
import { readProcFile, savedCmdlines } from './live-meta.js';
import { readNotWritten, recoveredStatsText } from './loss-stats.js';

const JOURNAL_RE = /^\.lkst-(\d+)\.partial\.json$/;

/** What a recorder writes when its trace starts, and again (with `end`) if it stops without writing its output. */
export interface PartialJournal {
  version: 1;
  pid: number;
  /** The recorder's start time in clock ticks since boot (/proc/PID/stat field 22): a pid reused later does not match. */
  pidStart: number;
  bootId: string;
  startedAt: string;
  /** The trace file the recording meant to write. */
  output: string;
  workDir: string;
  instance: string;
  /** Whether the instance was the recorder's own (record) or an armed trace it streamed (--attach: left as it is). */
  ownInstance: boolean;
  cpus: number[];
  /** Everything of the trace's meta the pages and the end do not give. */
  meta: Omit<TraceMeta, 'kallsyms' | 'cmdlines' | 'cpuStats'>;
  /** per_cpu stats texts at the start, by position in cpus. */
  startStats: string[];
  /** Written when the recorder stopped itself without writing its output. */
  end?: { reason: string; stats: string[]; inTransit: number[] };
}

function endPath(workDir: string, pid: number): string {
  return join(workDir, `.lkst-${pid}.partial.end`);
}

/** Room for the end record: its stats texts are a few hundred bytes per CPU. */
function endRoom(cpus: number): number {
  return 4096 + cpus * 1024;
}

/**
 * Writes the journal (atomically: a crash mid-write leaves none) and the room for its end. The end
 * is written later into that room, in place, so a full disk cannot refuse it.
 */
export function writeJournal(j: PartialJournal): void {
  const path = recordingJournalPath(j.workDir, j.pid);
  writeFileSync(endPath(j.workDir, j.pid), Buffer.alloc(endRoom(j.cpus.length), 0x20));
  writeFileSync(`${path}.tmp`, JSON.stringify({ ...j, end: undefined }));
  renameSync(`${path}.tmp`, path);
}

/** Records how a recording ended, into the room writeJournal made (padding keeps the file's size). */
export function writeJournalEnd(j: PartialJournal, end: NonNullable<PartialJournal['end']>): void {
  const text = Buffer.from(JSON.stringify(end));
  const room = endRoom(j.cpus.length);
  const buf = text.length < room ? Buffer.concat([text, Buffer.alloc(room - text.length, 0x20)]) : text;
  const fd = openSync(endPath(j.workDir, j.pid), 'r+');
  try {
    writeSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
}

function claimedPath(workDir: string, pid: number): string {
  return `${recordingJournalPath(workDir, pid)}.${process.pid}.claimed`;
}

export function removeJournal(workDir: string, pid = process.pid): void {
  for (const p of [recordingJournalPath(workDir, pid), `${recordingJournalPath(workDir, pid)}.tmp`, endPath(workDir, pid), claimedPath(workDir, pid)]) rmSync(p, { force: true });
}

/** The journal of a recording (its end too, once written); throws when it cannot be read. */
export function readJournal(path: string): PartialJournal {
  let j: PartialJournal;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as PartialJournal;
  } catch (err) {
    throw new LkstError(`cannot read the recording journal ${path} (${err instanceof SyntaxError ? 'damaged' : (err as NodeJS.ErrnoException).code})`, 'the page files beside it cannot be turned into a trace without it');
  }
  if (j.version !== 1 || !Array.isArray(j.cpus) || !Array.isArray(j.startStats)) throw new LkstError(`${path} is not a recording journal this lkst reads`, 'use the lkst that recorded it');
  try {
    const end = readFileSync(endPath(dirname(path), j.pid), 'utf8').trim();
    // A torn end (power lost while writing it) reads as no end: the loss after the pages is then uncertain.
    if (end) j.end = JSON.parse(end) as PartialJournal['end'];
  } catch {
    /* no end written */
  }
  return j;
}

/** Whether the recorder that wrote this journal still runs. */
export function recorderAlive(j: PartialJournal): boolean {
  return j.bootId === bootId() && processStart(j.pid) === j.pidStart;
}

/** The journal at path when its recorder is gone (a damaged one is left for `recover --partial` to report). */
function deadJournal(path: string, dir: string): PartialJournal | undefined {
  try {
    const j = readJournal(path);
    return recorderAlive(j) ? undefined : { ...j, workDir: dir };
  } catch {
    return undefined;
  }
}

/** Journals of recordings in dir whose recorder is gone (their pages wait to be made a trace). */
export function partialsIn(dir: string): PartialJournal[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => JOURNAL_RE.test(n)).flatMap((n) => deadJournal(join(dir, n), dir) ?? []);
}

/** Interrupted recordings anywhere a recorder of this state directory noted (record notes its page-file directory). */
export function interruptedRecordings(): PartialJournal[] {
  const out: PartialJournal[] = [];
  const seen = new Set<string>();
  for (const { pid, dir } of notedDirs()) {
    const path = recordingJournalPath(dir, pid);
    if (seen.has(path) || !existsSync(path)) continue;
    seen.add(path);
    const j = deadJournal(path, dir);
    if (j) out.push(j);
  }
  return out;
}

export interface FinishedPartial {
  meta: TraceMeta;
  cpus: { cpu: number; source: string }[];
  /** How the end was known, for the operator. */
  how: string;
  warnings: string[];
  /** Removes the page files and the journal once the trace is written. */
  discard(): void;
  /** Gives the journal back (the trace could not be written: a later try may). */
  release(): void;
}

/** Turns a dead recorder's journal and page files into a trace's parts (see the file comment). */
export function finishPartial(j: PartialJournal): FinishedPartial {
  if (recorderAlive(j)) throw new LkstError(`the recording by pid ${j.pid} into ${j.output} is still running`, 'stop it (Ctrl-C) and it writes its trace itself');
  // One finisher at a time (a reset and a recover --partial may meet): whoever renames the journal has it.
  const claimed = claimedPath(j.workDir, j.pid);
  try {
    renameSync(recordingJournalPath(j.workDir, j.pid), claimed);
  } catch {
    throw new LkstError(`the recording by pid ${j.pid} in ${j.workDir} is being written by another lkst`, 'wait for it: it writes the trace');
  }
  const warnings: string[] = [];
  const sameBoot = j.bootId === bootId();
  const cpus = j.cpus.map((cpu) => ({ cpu, source: pageFilePath(j.workDir, cpu, j.pid) }));
  const pageSize = j.meta.pageSize;
  for (const f of cpus) {
    // Killed while the trace was being made from this page file: its pages come out again first.
    const head = unadoptPageFile(f.source);
    if (head) warnings.push(`${f.source}: the trace was being written into it; its pages were taken back (${head} bytes before them)`);
    if (!existsSync(f.source)) continue;
    const torn = truncateToWholePages(f.source, pageSize);
    if (torn) warnings.push(`${f.source}: a torn last page (${torn} bytes) was left out`);
  }

  let endStats: string[] | undefined;
  let inTransit: number[] | undefined;
  let how: string;
  const inst = sameBoot && j.ownInstance && !j.end ? liveInstance(j.instance) : undefined;
  if (j.end) {
    endStats = j.end.stats;
    inTransit = j.end.inTransit;
    how = `the recorder stopped: ${j.end.reason}`;
  } else if (inst) {
    // The recorder died; its instance still holds what was not moved yet. Stop it, take the rest.
    inst.tracingOn = false;
    for (const f of cpus) {
      const r = new CpuReader(f.cpu, inst.rawPipePath(f.cpu), pageSize, f.source, true);
      try {
        r.drain();
      } finally {
        r.close();
      }
    }
    endStats = j.cpus.map((c) => inst.read(`per_cpu/cpu${c}/stats`));
    how = `the recorder (pid ${j.pid}) was killed; the rest of its buffer was read from ${j.instance}`;
  } else {
    how = `the recorder (pid ${j.pid}) was killed and its buffer is gone${sameBoot ? '' : ' (the machine rebooted since)'}`;
  }

  const captures = cpus.map((f) => countPageFile(f.cpu, f.source, pageSize));
  const cpuStats: (string | undefined)[] = new Array(j.meta.cpuCount).fill(undefined);
  captures.forEach((cap, i) => {
    const start = j.startStats[i] === undefined ? undefined : parseCpuStats(j.startStats[i]!);
    const text = endStats?.[i];
    const end = text === undefined ? undefined : { text, stats: parseCpuStats(text) };
    // Read from the kernel but never written (the page mover killed with pages in hand), unless the journal's end says.
    if (end) cap.lostInTransit = inTransit ? (inTransit[i] ?? 0) : readNotWritten(start, end.stats, cap.events);
    cpuStats[cap.cpu] = recoveredStatsText(cap, start, end, cap.lostInTransit ?? 0, `recording cut short: ${how}; events after its last page are unknown`);
  });
  if (!sameBoot) warnings.push('recorded on an earlier boot: kernel symbols and task names of that boot are gone, addresses and pids are shown as numbers');
  const meta: TraceMeta = {
    ...j.meta,
    kallsyms: sameBoot ? readProcFile('/proc/kallsyms') : '',
    cmdlines: sameBoot ? savedCmdlines() : '',
    cpuStats,
  };
  if (inst) inst.remove();
  return {
    meta,
    cpus,
    how,
    warnings,
    discard: () => {
      for (const f of cpus) rmSync(f.source, { force: true });
      removeJournal(j.workDir, j.pid);
      forgetNote(j.pid);
    },
    release: () => renameSync(claimed, recordingJournalPath(j.workDir, j.pid)),
  };
}

function liveInstance(name: string): Instance | undefined {
  try {
    return Instance.exists(name) ? Instance.open(name) : undefined;
  } catch {
    return undefined;
  }
}

