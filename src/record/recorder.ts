import type { StdioOptions } from 'node:child_process';
import { access } from 'node:fs/promises';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Instance, cpuStatsToText, parseCpuStats, type CpuStats } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { dropOwner, recordOwner } from '../base/owner.js';
import { watchInstance } from '../tracefs/owner.js';
import { notePageFiles, pageFilePath, removePageFiles } from '../base/page-files.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import type { ExtraBuffer } from '../trace/writer-port.js';
import { CpuReader, PageFileCounter, countPageFile, type CpuCapture } from './cpu-reader.js';
import { Pump, pumpBinary, type PumpCount } from './pump.js';
import { collectFixedMeta, collectLiveMeta, savedCmdlines } from './live-meta.js';
import { bootId, processStart } from '../base/owner.js';
import { removeJournal, writeJournal, writeJournalEnd, type PartialJournal } from './partial.js';
import { capturedByKernel, readNotWritten, recordingLoss, stampStartCounters } from './loss-stats.js';
import { PollPacer } from './poll-pacer.js';
import { liveRound, readDue, type LivePages } from './live-pages.js';
import type { RunningCommand } from './command.js';
import { filterWithout, leaveOut, leaveOutFilter, ownThreads } from './self-filter.js';
import { scopePids, type PidSet, type RecordScope } from './scope.js';
import { grouped } from '../base/grouped.js';
import { MonoSync, printEventId } from '../buffers/clock-sync.js';

export interface TracepointRef {
  system: string;
  event: string;
  /** Kernel filter expression, when only some occurrences are wanted. */
  filter?: string;
}

export interface RecordOptions {
  /** Tracepoints to enable; ignored when setup is given (it enables what it wants). */
  events: TracepointRef[];
  /** Directory for the per-CPU page files (next to the output file, so the final copy stays on one disk). */
  workDir: string;
  /**
   * The trace file the caller will write: with it, a journal beside the page files lets
   * `lkst recover --partial` make that trace if the recorder dies or cannot write it (partial.ts).
   */
  output?: string;
  bufferKbPerCpu?: number;
  subbufKb?: number;
  clock?: string;
  durationSec?: number;
  command?: string[];
  /**
   * Longest interval between drains of the per-CPU buffers (idle buffers). Longer: fuller pages,
   * fewer wakeups; shorter: less risk of overrun when a burst starts. Busy buffers are drained sooner.
   */
  pollMs?: number;
  /** Record into this (already configured) instance instead of a new one, and leave it as it is. */
  attach?: Instance;
  /**
   * Configures a new instance instead of enabling `events` (e.g. a maskset); returns the events it
   * enabled. With a scope, pids is what set_event_pid already holds: a setup that rewrites the
   * instance's pid set (a maskset's apply) keeps it. andFilter: what leaves the recorder's own
   * events out; the recorder ANDs it into each event after setup, and a setup whose filters can be
   * switched later (an announced maskset) keeps it for the switch.
   */
  setup?: (inst: Instance, pids?: PidSet, andFilter?: string) => TracepointRef[] | Promise<TracepointRef[]>;
  /** Runs on the instance before its pipes are opened, with tracing off: the kernel refuses a new tracer (EBUSY) once they are. */
  prepare?: (inst: Instance) => void;
  /**
   * Record only these processes, or only `command` and its children (set_event_pid, decided per CPU at
   * each context switch: interrupts are kept or dropped with the task they interrupt).
   */
  scope?: RecordScope;
  /** Leave out the events of the recorder's own tasks (default: yes; not with a scope or attach). */
  leaveOutSelf?: boolean;
  /** Called once events are being recorded (before the command starts). */
  onRecording?: () => void;
  /** Called about once a second with running totals (for the live line). */
  onProgress?: (p: RecordProgress) => void;
  signal?: AbortSignal;
  /** Hand the pages to this consumer as they are read, instead of page files (`lkst stream`). */
  live?: LivePages;
  /** The command's stdio (default: inherit ours). */
  commandStdio?: StdioOptions;
  /** Runs beside the ftrace recording (the BPF engine): started once the events are set up, finished once tracing stops. */
  companion?: RecordCompanion;
}

/** What a companion adds to the recording: more buffers and metadata for the trace, lines for the summary. */
export interface CompanionResult {
  buffers: ExtraBuffer[];
  meta?: Pick<TraceMeta, 'counts'>;
  /** Formats of events the companion makes itself (lkst/alert, BPF C handlers' values), added to the trace's. */
  formats?: TraceMeta['eventFormats'];
  /** Events the companion lost (exact, per the buffers' CPUSTATs). */
  lost: number;
  records: number;
  summary: string[];
  /** Removes the companion's files once the trace is written. */
  discard(): void;
}

/** Something recording beside the instance (bpf/companion.ts). ownTasks: the recorder's own tasks, to leave out. */
export interface RecordCompanion {
  start(inst: Instance, ctx: { workDir: string; ownTasks: readonly number[]; live: boolean }): Promise<void>;
  finish(pageSize: number): Promise<CompanionResult | undefined>;
  abort(): void;
}

export interface RecordProgress {
  elapsedMs: number;
  events: number;
  bytes: number;
  lost: number;
}

export interface RecordingResult {
  meta: TraceMeta;
  /** One file of whole raw pages per CPU. */
  cpus: { cpu: number; source: string }[];
  captures: CpuCapture[];
  kernelStats: CpuStats[];
  /** The kernel's counters when the recording began (a fresh buffer: zero; an attached one: what it had). */
  kernelStatsAtStart: CpuStats[];
  events: TracepointRef[];
  elapsedMs: number;
  /** The recorder's own CPU time (user + system, its page mover's included), in microseconds. */
  cpuTimeUs: number;
  commandExitCode?: number | null;
  /** Another command stopped or removed the instance while it recorded: the trace ends early. */
  interference?: string;
  /** The command's pid (with -F: the root of what was recorded). */
  commandPid?: number;
  /** The recorder's own tasks: Node's threads and the page mover. */
  ownTasks: number[];
  /** Whether each event's filter left their task-context events out. */
  leftOutSelf: boolean;
  /** Events the kernel refused that filter on (lkst's own events on them are recorded). */
  leaveOutRefused: string[];
  /** What the companion (BPF engine) recorded beside the instance, if one ran. */
  companion?: CompanionResult;
  /** Removes the per-CPU page files once they are written into a trace file. */
  discard(): void;
}

const DEFAULT_POLL_MS = 100;
const PROGRESS_MS = 1000;
/**
 * buffer_percent for the pump: wake when a buffer is a quarter full. The kernel's default (50) left
 * half a buffer as room for a burst while the pump waits for a CPU; trace-cmd's recorder looks every
 * millisecond and has nearly all of it. Wake-ups stay few (~600 for a 4 M-event storm at 1408 KB).
 */
const WAKE_PERCENT = 25;
const MIN_WAKE_PERCENT = 10;
/** How often busy buffers' fill is looked at (a stats read per CPU); reads happen only when there is a page. Idle ones: see PollPacer. */
const LOOK_MS = 5;

/**
 * Events a recording lost on a CPU: the growth of the kernel's overrun and dropped counters from
 * its start to now, plus what never reached the file (trace/loss.ts, the one rule every command uses).
 */
export function lostEvents(capture: CpuCapture, now: CpuStats | undefined, start: CpuStats | undefined): number {
  if (!now || !start) return capture.lostInPages + (capture.lostInTransit ?? 0);
  return recordingLoss('', capture, start, now).lost;
}

/** Records the live kernel into per-CPU page files, until the duration ends, the command exits or the signal aborts. */
export async function record(opts: RecordOptions): Promise<RecordingResult> {
  // The command's module loads only when there is one to run.
  const { startCommand } = opts.command?.length || opts.scope?.kind === 'command' ? await import('./command.js') : { startCommand: undefined };
  const inst = opts.attach ?? Instance.createOwned('rec');
  if (!opts.attach) recordOwner(inst.name, 'recorder');
  let interference: string | undefined;
  let stopWatch: (() => void) | undefined;
  const cpuStart = process.cpuUsage();
  const started = Date.now();
  const readers: CpuReader[] = [];
  let pump: Pump | undefined;
  let pumpFailed = false;
  let counters: PageFileCounter[] = [];
  let kernelStatsAtStart: CpuStats[] = [];
  let events = opts.events;
  let cmd: RunningCommand | undefined;
  let exitCode: number | null | undefined;
  let journal: PartialJournal | undefined;
  let ownTasks: number[] = [];
  let leaveOutRefused: string[] = [];
  let monoSync: MonoSync | undefined;
  const cpuFiles: { cpu: number; source: string }[] = [];
  try {
    if (!opts.attach) {
      inst.tracingOn = false;
      if (opts.bufferKbPerCpu) inst.bufferSizeKb = opts.bufferKbPerCpu;
      if (opts.subbufKb) inst.subbufSizeKb = opts.subbufKb;
      if (opts.clock) inst.clock = opts.clock;
      if (inst.has('buffer_percent')) inst.write('buffer_percent', String(WAKE_PERCENT));
      opts.prepare?.(inst);
    }
    const pageSize = (inst.subbufSizeKb ?? 4) * 1024;
    const bufferBytes = inst.bufferSizeKb * 1024;
    notePageFiles(opts.workDir);
    for (const cpu of inst.cpus()) cpuFiles.push({ cpu, source: pageFilePath(opts.workDir, cpu) });
    const kernelStatsNow = () => cpuFiles.map((f) => inst.cpuStats(f.cpu));
    // Live pages come from Node's reads: the pump moves whole pages to files, when half a buffer is full.
    const pumpBin = !opts.live && pumpUsable(inst) ? pumpBinary().path : undefined;
    // What the buffer had lost before we read a page: never this recording's losses.
    kernelStatsAtStart = kernelStatsNow();
    // Setting up makes events of our own: set_event_notrace_pid leaves them out while it lasts. Only
    // then: it drops every event on a CPU while a listed task is current, interrupts and softirqs
    // included (a healthy-kernel test lost 16 timer expiries to it when the recorder and its page
    // mover were listed all along); the per-event filters below take over.
    if (pumpBin) {
      counters = cpuFiles.map((f) => new PageFileCounter(f.cpu, f.source, pageSize));
      // An attached buffer may have had other readers: its pump counts its files (the kernel's counters would not say what they hold).
      pump = new Pump(pumpBin, pageSize, cpuFiles.map((f) => ({ pipe: inst.rawPipePath(f.cpu), out: f.source })), { tracingOn: opts.attach ? undefined : inst.path('tracing_on'), kallsymsOut: kallsymsPath(opts.workDir), count: !!opts.attach });
    } else for (const f of cpuFiles) readers.push(new CpuReader(f.cpu, inst.rawPipePath(f.cpu), pageSize, opts.live ? (pages) => opts.live!.pages(f.cpu, pages) : f.source));
    // Node starts its file-system threads on first use: start them now, so the list has them all.
    await access('/');
    ownTasks = [...new Set([...ownThreads(), ...(pump?.pid ? [pump.pid] : [])])];
    // Plain events leaving our own out get that filter before they are enabled: none of our setup's
    // events is recorded, and set_event_notrace_pid (each write re-registers the kernel's pid probes) is not needed.
    const filterFirst = !opts.attach && !opts.setup && !opts.scope && opts.leaveOutSelf !== false;
    if (!opts.attach && !filterFirst) excludePids(inst, ownTasks);
    // -F: the command waits, with its pid, until the pid is in set_event_pid.
    let pidSet: PidSet | undefined;
    if (opts.scope?.kind === 'command') {
      cmd = startCommand!(opts.command ?? [], { held: true });
      pidSet = { pids: [cmd.pid], follow: true };
    } else if (opts.scope?.kind === 'pids') pidSet = scopePids(opts.scope.processes, opts.scope.follow);
    const selfOut = !opts.attach && !pidSet && opts.leaveOutSelf !== false;
    if (!opts.attach) {
      if (pidSet) inst.setEventPids([...pidSet.pids], { follow: pidSet.follow });
      // Tracing goes on before the events: the kernel refuses markers (a maskset's) while it is off.
      inst.tracingOn = true;
      if (opts.setup) events = await opts.setup(inst, pidSet, selfOut ? leaveOutFilter(ownTasks) : undefined);
      else
        for (const e of events) {
          if (filterFirst && ownTasks.length) {
            if (!filterWithout(inst, e, e.filter ?? '', leaveOutFilter(ownTasks))) {
              leaveOutRefused.push(`${e.system}:${e.event}`);
              if (e.filter) inst.setFilter(e.system, e.event, e.filter);
            }
          } else if (e.filter) inst.setFilter(e.system, e.event, e.filter);
          inst.setEventEnabled(e.system, e.event, true);
        }
      if (pidSet && !inst.eventPids().length) inst.setEventPids([...pidSet.pids], { follow: pidSet.follow });
      if (selfOut && !filterFirst) leaveOutRefused = leaveOut(inst, events, ownTasks);
      await opts.companion?.start(inst, { workDir: opts.workDir, ownTasks, live: !!opts.live });
      // The companion's buffer is on `mono`: sync markers place it on this instance's clock.
      if (opts.companion && !opts.live) (monoSync = new MonoSync(inst)).mark('start');
      // From here the filters leave our task-context events out (or, with a scope, set_event_pid
      // does): set_event_notrace_pid, which would drop others' interrupts on our time too, goes.
      // Without either, Node stays listed while it reads pages itself.
      if (!filterFirst) includePids(inst, selfOut || pidSet ? ownTasks : ownTasks.filter((t) => t !== process.pid || pump));
    }
    const hadEvents = inst.enabledEvents().length > 0;
    stopWatch = watchInstance(inst, () => hadEvents, (why) => {
      interference = why;
      process.stderr.write(`lkst record: WARNING: ${why}; this recording is cut short from here\n`);
    });
    opts.live?.start({ meta: collectLiveMeta(inst, events, pageSize, { lazyKallsyms: true }), cpus: cpuFiles.map((f) => f.cpu), start: kernelStatsAtStart, cmdlines: () => savedCmdlines() });
    if (opts.output) {
      const pidStart = processStart(process.pid) ?? 0;
      journal = { version: 1, pid: process.pid, pidStart, bootId: bootId(), startedAt: new Date(started).toISOString(), output: opts.output, workDir: opts.workDir, instance: inst.name, ownInstance: !opts.attach, cpus: cpuFiles.map((f) => f.cpu), meta: collectFixedMeta(inst, events, pageSize), startStats: kernelStatsAtStart.map(cpuStatsToText) };
      writeJournal(journal);
    }
    opts.onRecording?.();

    // If the pump dies, Node reads on, appending to the files it wrote: nothing recorded is lost.
    const takeOver = (err: LkstError) => {
      // Node would meet the same full disk: stop, keeping what was written (keepWhatWasRecorded).
      if (/No space left on device/.test(err.what)) throw err;
      process.emitWarning(`${err.message}; reading in Node from now on`);
      pump = undefined;
      pumpFailed = true;
      if (!opts.attach && !selfOut && !pidSet) excludePids(inst, [process.pid]);
      for (const c of counters) c.update();
      for (const f of cpuFiles) readers.push(new CpuReader(f.cpu, inst.rawPipePath(f.cpu), pageSize, f.source, true));
    };

    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(poll);
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => finish();
      let lastProgress = started;
      const maxPoll = opts.pollMs ?? DEFAULT_POLL_MS;
      // Look at the buffers' fill often (cheap), read a CPU only when it holds a whole page or
      // has waited maxPoll: full pages at low rates, no overrun when a storm starts.
      const lookMs = Math.min(maxPoll, LOOK_MS);
      const pacer = new PollPacer(bufferBytes, lookMs, maxPoll);
      const lastRead = cpuFiles.map(() => performance.now());
      let lastTick = performance.now();
      pump?.onFailure((err) => {
        if (done) return;
        try {
          takeOver(err);
          clearTimeout(poll);
          poll = setTimeout(tick, pacer.idleMs);
        } catch (e) {
          finish(e);
        }
      });
      const tick = () => {
        const t0 = performance.now();
        let most = 0;
        try {
          if (opts.live) most = liveRound(readers, lastRead, t0, maxPoll, opts.live);
          else if (!pump)
            readers.forEach((r, i) => {
              if (!readDue(r, t0 - lastRead[i]!, maxPoll)) return;
              const before = r.stats.bytes;
              r.drain(Infinity, { stopAtPartialPage: true });
              lastRead[i] = t0;
              most = Math.max(most, r.stats.bytes - before);
            });
        } catch (err) {
          finish(err);
          return;
        }
        // The pump needs no looks; this timer only feeds the live line.
        const delay = pump ? PROGRESS_MS : pacer.next(most, t0 - lastTick);
        lastTick = t0;
        const now = Date.now();
        if (opts.onProgress && now - lastProgress >= PROGRESS_MS) {
          lastProgress = now;
          if (pump) for (const c of counters) c.update();
          opts.onProgress(progressOf(captures(counters, readers), now - started, kernelStatsAtStart, pump ? kernelStatsNow() : undefined));
        }
        if (!done) poll = setTimeout(tick, delay);
      };
      // With the pump and no live line, Node has nothing to do until the end: no timer wakes it.
      let poll = pump && !opts.onProgress ? undefined : setTimeout(tick, pump ? PROGRESS_MS : pacer.idleMs);
      const timer = opts.durationSec !== undefined ? setTimeout(() => finish(), opts.durationSec * 1000) : undefined;
      if (opts.signal) {
        if (opts.signal.aborted) {
          cmd?.kill();
          return finish();
        }
        opts.signal.addEventListener('abort', onAbort);
      }
      if (!cmd && opts.command?.length) cmd = startCommand!(opts.command, { stdio: opts.commandStdio });
      cmd?.release();
      cmd?.exited.then((code) => {
        exitCode = code;
        finish();
      }, finish);
    });

    stopWatch();
    if (!interference) monoSync?.mark('end');
    if (!opts.attach && !interference) {
      if (pump && !filterFirst) excludePids(inst, [process.pid]);
      inst.tracingOn = false;
    }
    const companion = await opts.companion?.finish(pageSize);
    let pumpCpuUs = 0;
    let pumpCounts: (PumpCount | undefined)[] = [];
    let pumpKallsyms = false;
    if (pump)
      try {
        ({ cpuUs: pumpCpuUs, counts: pumpCounts, kallsyms: pumpKallsyms } = await pump.finish());
      } catch (err) {
        // It died just before the end: Node drains what is left below.
        if (!(err instanceof LkstError)) throw err;
        takeOver(err);
      }
    for (const r of readers) r.drain();
    opts.live?.round();
    const kernelStats = kernelStatsNow();
    // After a pump failure the counters stopped where Node took over (it counts what it appends).
    // The pump counted its whole files (cheaper in C than reading them back here), or, for our own
    // buffer, the kernel counted what it handed the pump.
    if (!pumpFailed)
      counters.forEach((c, i) => {
        const f = cpuFiles[i]!;
        if (pumpCounts[i]) Object.assign(c.stats, pumpCounts[i]);
        else if (!opts.attach && kernelStats[i] && kernelStatsAtStart[i]) Object.assign(c.stats, capturedByKernel(f.cpu, kernelStatsAtStart[i], kernelStats[i], statSync(f.source).size, pageSize));
        else c.update();
      });
    const caps = captures(counters, readers);
    // A pump that died may have held pages between its two splices: the kernel counted them as read
    // (since the recording began: an attached buffer may have been read before).
    if (pumpFailed) for (const [i, c] of caps.entries()) c.lostInTransit = kernelStats[i] ? readNotWritten(kernelStatsAtStart[i], kernelStats[i], c.events) : 0;
    const meta = collectLiveMeta(inst, events, pageSize, { fixed: journal?.meta, ...(pumpKallsyms ? { kallsymsFile: kallsymsPath(opts.workDir) } : {}) });
    // Until the caller has written its trace, the journal holds the end too: a writer that fails
    // (a full disk) leaves pages that `lkst recover --partial` turns into the trace, loss exact.
    if (journal) writeJournalEnd(journal, { reason: 'it stopped before its trace file was written', stats: cpuFiles.map((f) => meta.cpuStats?.[f.cpu] ?? ''), inTransit: caps.map((c) => c.lostInTransit ?? 0) });
    meta.cpuStats = stampStartCounters(meta.cpuStats ?? [], caps, kernelStatsAtStart, kernelStats);
    if (companion?.meta) Object.assign(meta, companion.meta);
    const monoOffset = companion && monoSync?.needed ? monoSync.offset({ pageSize, files: cpuFiles }, printEventId()) : undefined;
    if (monoOffset) for (const b of companion!.buffers) if (b.clock === 'mono') b.clockOffset = monoOffset;
    if (companion?.formats) meta.eventFormats.push(...companion.formats);
    for (const r of readers) r.close();
    const cpu = process.cpuUsage(cpuStart);
    return {
      meta,
      cpus: cpuFiles,
      captures: caps,
      kernelStats,
      kernelStatsAtStart,
      events,
      elapsedMs: Date.now() - started,
      cpuTimeUs: cpu.user + cpu.system + pumpCpuUs,
      commandExitCode: exitCode,
      ...(interference ? { interference } : {}),
      ...(cmd ? { commandPid: cmd.pid } : {}),
      ownTasks,
      leftOutSelf: selfOut,
      leaveOutRefused,
      ...(companion ? { companion } : {}),
      discard: () => {
        companion?.discard();
        removePageFiles(opts.workDir, cpuFiles.map((f) => f.cpu));
        rmSync(kallsymsPath(opts.workDir), { force: true });
        removeJournal(opts.workDir);
      },
    };
  } catch (err) {
    cmd?.kill();
    opts.companion?.abort();
    const kept = journal ? await keepWhatWasRecorded(inst, journal, pump, !opts.attach) : 0;
    pump?.kill();
    for (const r of readers) r.close();
    rmSync(kallsymsPath(opts.workDir), { force: true });
    if (kept > 0) throw keptError(err, kept, journal!);
    removePageFiles(opts.workDir, cpuFiles.map((f) => f.cpu));
    if (journal) removeJournal(opts.workDir);
    throw err;
  } finally {
    stopWatch?.();
    if (!opts.attach) {
      inst.remove();
      dropOwner(inst.name);
    }
  }
}

/**
 * A recording that fails after pages were written (a full disk, a tracefs error) keeps them: it
 * stops the trace, lets the pump move what it can, and writes the journal's end with the events
 * that will never reach the files (unread in the buffer, or handed out and not written) counted as
 * lost. Returns the events kept (0: nothing worth keeping).
 */
async function keepWhatWasRecorded(inst: Instance, journal: PartialJournal, pump: Pump | undefined, own: boolean): Promise<number> {
  try {
    if (own) inst.tracingOn = false;
    if (pump) await pump.finish().catch(() => undefined);
    // Count what the files hold (a reader that failed to write counted pages it never wrote).
    const inFiles = journal.cpus.map((cpu) => countPageFile(cpu, pageFilePath(journal.workDir, cpu), journal.meta.pageSize).events);
    const kept = inFiles.reduce((n, e) => n + e, 0);
    if (!kept) return 0;
    const stats = journal.cpus.map((cpu) => inst.read(`per_cpu/cpu${cpu}/stats`));
    const inTransit = stats.map((text, i) => {
      const k = parseCpuStats(text);
      // Handed out but not in the files, plus what the buffer still holds and goes with the instance.
      return readNotWritten(parseCpuStats(journal.startStats[i] ?? ''), k, inFiles[i]!) + (own ? k.entries : 0);
    });
    writeJournalEnd(journal, { reason: 'it failed while recording', stats, inTransit });
    return kept;
  } catch {
    return 0;
  }
}

function keptError(err: unknown, kept: number, j: PartialJournal): LkstError {
  const why = err instanceof LkstError ? err.what : String(err);
  return new LkstError(`${why}; the ${grouped(kept)} events recorded so far are kept in ${j.workDir}`, `make room there, then \`lkst recover --partial ${j.workDir}\` writes ${j.output} (add -o FILE to write it elsewhere)`);
}

/** Where the pump copies /proc/kallsyms for the trace file (beside the page files). */
function kallsymsPath(workDir: string): string {
  return join(workDir, `.lkst-${process.pid}-kallsyms`);
}

const NOTRACE_PIDS = 'set_event_notrace_pid';

/** The recorder's own reads and writes are not what anyone wants to trace (pids a setup put there stay). */
function excludePids(inst: Instance, pids: readonly number[]): void {
  // One write for all: each write re-registers the kernel's pid probes and interrupts every CPU.
  if (pids.length && inst.has(NOTRACE_PIDS)) inst.write(NOTRACE_PIDS, pids.join(' '), { append: true });
}

/** Takes these pids out again, keeping any others; an empty list turns the kernel's pid checks off. */
function includePids(inst: Instance, pids: readonly number[]): void {
  if (!inst.has(NOTRACE_PIDS)) return;
  const ours = new Set(pids.map(String));
  const others = inst.read(NOTRACE_PIDS).split(/\s+/).filter((p) => p && !ours.has(p));
  inst.write(NOTRACE_PIDS, others.join(' '));
}

/**
 * The pump sleeps in poll(), which the kernel wakes when a buffer is buffer_percent full; at 0 it
 * would wake on every event. Kernels without the file wake pollers on any data too.
 */
function pumpUsable(inst: Instance): boolean {
  if (!inst.has('buffer_percent')) return false;
  return parseInt(inst.read('buffer_percent'), 10) >= MIN_WAKE_PERCENT;
}

/** Per-CPU totals: pages the pump wrote plus pages Node read (after a pump failure, both). */
function captures(counters: PageFileCounter[], readers: CpuReader[]): CpuCapture[] {
  if (!counters.length) return readers.map((r) => r.stats);
  return counters.map((c) => {
    const r = readers.find((x) => x.cpu === c.stats.cpu)?.stats;
    if (!r) return { ...c.stats };
    return { cpu: c.stats.cpu, pages: c.stats.pages + r.pages, bytes: c.stats.bytes + r.bytes, events: c.stats.events + r.events, lostInPages: c.stats.lostInPages + r.lostInPages, lossFlagsWithoutCount: c.stats.lossFlagsWithoutCount + r.lossFlagsWithoutCount };
  });
}

/** Running totals; with kernel stats, events still in the buffers count too (the pump leaves up to half a buffer there). */
function progressOf(caps: CpuCapture[], elapsedMs: number, start: CpuStats[], kernel?: CpuStats[]): RecordProgress {
  let events = 0;
  let bytes = 0;
  let lost = 0;
  for (const [i, c] of caps.entries()) {
    const k = kernel?.[i];
    events += c.events + (k ? k.entries : 0);
    bytes += c.bytes + (k ? Math.max(0, k.bytes) : 0);
    lost += lostEvents(c, k, k && start[i]);
  }
  return { elapsedMs, events, bytes, lost };
}
