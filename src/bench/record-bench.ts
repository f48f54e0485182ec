import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { machineInfo, describeMachine, type MachineInfo } from './machine.js';
import { startLkstRecord, startTraceCmdRecord, type ExternalRecording } from './recorders.js';
import { summarize, type Summary } from './stats.js';
import { fileCpuStats, traceCmdRecorder } from './trace-cmd.js';
import { sleep } from './wait.js';

export interface RecordBenchOptions {
  runs: number;
  /** 1-byte dd writes: each is a read and a write syscall, so ~4 raw_syscalls events. */
  stormWrites: number;
  bufferKbPerCpu: number;
  workDir: string;
  events?: string[];
  /** Extra `lkst record` arguments (e.g. --poll, --subbuf) to try settings. */
  lkstArgs?: string[];
  onProgress?: (line: string) => void;
}

export interface RecordRun {
  recorder: string;
  run: number;
  captured: number;
  lost: number;
  cpuUs: number;
  wallMs: number;
  /** Recorder CPU milliseconds per million captured events. */
  cpuMsPerMillion: number;
}

export interface RecorderSummary {
  recorder: string;
  /** CPU ms of a recording of an idle second: start-up, setup, file writing, teardown. */
  idleCpuMs: Summary;
  /** (storm CPU − idle CPU) per million events: the cost that grows with the events. */
  marginalCpuMsPerMillion: number;
  captured: Summary;
  lost: Summary;
  cpuMs: Summary;
  cpuMsPerMillion: Summary;
}

export interface RecordBenchResult {
  machine: MachineInfo;
  settings: { runs: number; stormWrites: number; bufferKbPerCpu: number; events: string[]; lkstArgs: string[]; storm: string };
  runs: RecordRun[];
  summaries: RecorderSummary[];
  /** lkst median / trace-cmd median. */
  ratios: { captured: number; lost: number | null; cpuMsPerMillion: number; idleCpuMs: number; marginalCpuMsPerMillion: number };
  /**
   * Issue 14's bar: lkst loses nothing in a round where trace-cmd lost nothing (and no more than it
   * otherwise), and its CPU per event is at most trace-cmd's.
   */
  pass: { lost: boolean; cpu: boolean };
  /** The 1-minute load average before and after the runs: losses depend on it, CPU time much less. */
  load: { before: number; after: number };
}

const DEFAULT_EVENTS = ['raw_syscalls', 'sched'];


function storm(writes: number): Promise<void> {
  if (writes <= 0) return new Promise((r) => setTimeout(r, 1000));
  return new Promise((resolve, reject) => {
    const c = spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${writes}`], { stdio: 'ignore' });
    c.on('error', (e) => reject(new LkstError(`cannot run dd (${e.message})`, 'install coreutils')));
    c.on('exit', () => resolve());
  });
}

/** One recording of the storm by one recorder (writes 0: an idle second, for the recorder's fixed cost). */
async function oneRun(name: string, run: number, opts: RecordBenchOptions, events: string[], writes = opts.stormWrites): Promise<RecordRun> {
  const output = join(opts.workDir, `${name}-${run}.dat`);
  const start = name === 'lkst' ? startLkstRecord : startTraceCmdRecord;
  let rec: ExternalRecording | undefined;
  try {
    rec = await start({ events, bufferKbPerCpu: opts.bufferKbPerCpu, output, extraArgs: name === 'lkst' ? opts.lkstArgs : undefined });
    await sleep(200);
    await storm(writes);
    await sleep(200);
    const exit = await rec.finish();
    const stats = fileCpuStats(output);
    if (!stats.length) throw new LkstError(`no CPU statistics in ${name}'s file`, 'check that trace-cmd report --stat reads it');
    // trace-cmd takes its stats before the final flush; what was left then was written too.
    const captured = stats.reduce((s, c) => s + c.readEvents + c.entries, 0);
    const lost = stats.reduce((s, c) => s + c.overrun + c.droppedEvents, 0);
    return { recorder: name, run, captured, lost, cpuUs: exit.cpuUs, wallMs: exit.wallMs, cpuMsPerMillion: captured ? exit.cpuUs / 1000 / (captured / 1e6) : NaN };
  } finally {
    if (rec && rec.process.child.exitCode === null) {
      rec.process.stop('SIGKILL');
      await rec.process.exited.catch(() => {});
      rec.cleanup();
    }
    rmSync(output, { force: true });
  }
}

export async function recordBenchmark(opts: RecordBenchOptions): Promise<RecordBenchResult> {
  traceCmdRecorder(); // refuses before anything runs when no trace-cmd can record here
  const events = opts.events ?? DEFAULT_EVENTS;
  const names = ['trace-cmd', 'lkst'];
  const runs: RecordRun[] = [];
  const idle: RecordRun[] = [];
  const total = opts.runs * names.length;
  const loadBefore = loadavg()[0]!;
  for (let i = 0; i < opts.runs; i++) {
    // Alternate who goes first so drift (page cache, CPU frequency) does not favour one recorder.
    const order = i % 2 ? [...names].reverse() : names;
    for (const name of order) {
      const r = await oneRun(name, i + 1, opts, events);
      runs.push(r);
      idle.push(await oneRun(name, i + 1, opts, events, 0));
      opts.onProgress?.(
        `  [${runs.length}/${total}] ${name.padEnd(9)} captured ${r.captured.toLocaleString('en-US')} lost ${r.lost.toLocaleString('en-US')} CPU ${(r.cpuUs / 1000).toFixed(0)} ms (${r.cpuMsPerMillion.toFixed(1)} ms per million events)`,
      );
    }
  }
  const summaries = names.map((recorder): RecorderSummary => {
    const mine = runs.filter((r) => r.recorder === recorder);
    const idleCpuMs = summarize(idle.filter((r) => r.recorder === recorder).map((r) => r.cpuUs / 1000));
    const stormMs = summarize(mine.map((r) => r.cpuUs / 1000)).median;
    const captured = summarize(mine.map((r) => r.captured)).median;
    return {
      recorder,
      idleCpuMs,
      marginalCpuMsPerMillion: (stormMs - idleCpuMs.median) / (captured / 1e6),
      captured: summarize(mine.map((r) => r.captured)),
      lost: summarize(mine.map((r) => r.lost)),
      cpuMs: summarize(mine.map((r) => r.cpuUs / 1000)),
      cpuMsPerMillion: summarize(mine.map((r) => r.cpuMsPerMillion)),
    };
  });
  const [tc, lk] = summaries as [RecorderSummary, RecorderSummary];
  const ratios = {
    captured: lk.captured.median / tc.captured.median,
    lost: tc.lost.median ? lk.lost.median / tc.lost.median : null,
    cpuMsPerMillion: lk.cpuMsPerMillion.median / tc.cpuMsPerMillion.median,
    idleCpuMs: lk.idleCpuMs.median / tc.idleCpuMs.median,
    marginalCpuMsPerMillion: lk.marginalCpuMsPerMillion / tc.marginalCpuMsPerMillion,
  };
  return {
    machine: machineInfo(),
    settings: {
      runs: opts.runs,
      stormWrites: opts.stormWrites,
      bufferKbPerCpu: opts.bufferKbPerCpu,
      events,
      lkstArgs: opts.lkstArgs ?? [],
      storm: `dd if=/dev/zero of=/dev/null bs=1 count=${opts.stormWrites}`,
    },
    runs,
    summaries,
    ratios,
    pass: { lost: noMoreLost(runs), cpu: ratios.cpuMsPerMillion <= 1 },
    load: { before: loadBefore, after: loadavg()[0]! },
  };
}

/** In each round lkst loses no more than trace-cmd did in it (so nothing where trace-cmd lost nothing). */
function noMoreLost(runs: RecordRun[]): boolean {
  const rounds = new Set(runs.map((r) => r.run));
  return [...rounds].every((n) => {
    const tc = runs.find((r) => r.run === n && r.recorder === 'trace-cmd');
    const lk = runs.find((r) => r.run === n && r.recorder === 'lkst');
    return !tc || !lk || lk.lost <= tc.lost;
  });
}

export function renderRecordBench(r: RecordBenchResult): string {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
  const rows = [['recorder', 'captured (median)', 'lost (median)', 'lost (max)', 'CPU ms (median)', 'CPU ms / M events (median)', 'min-max', 'idle-second CPU ms', 'marginal CPU ms / M events']];
  for (const s of r.summaries)
    rows.push([
      s.recorder,
      f(s.captured.median),
      f(s.lost.median),
      f(s.lost.max),
      f(s.cpuMs.median),
      f(s.cpuMsPerMillion.median, 1),
      `${f(s.cpuMsPerMillion.min, 1)}-${f(s.cpuMsPerMillion.max, 1)}`,
      f(s.idleCpuMs.median),
      f(s.marginalCpuMsPerMillion, 1),
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const table = rows.map((row) => row.map((c, i) => (i ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')).join('\n');
  const ratio = (x: number | null) => (x === null ? 'n/a (trace-cmd lost none)' : `${x.toFixed(2)}x`);
  return (
    `lkst record vs trace-cmd record: ${r.settings.storm}, events ${r.settings.events.join(' ')}, -b ${r.settings.bufferKbPerCpu} KB/CPU, ${r.settings.runs} runs each` +
    `${r.settings.lkstArgs.length ? `, lkst ${r.settings.lkstArgs.join(' ')}` : ''}\n` +
    `machine: ${describeMachine(r.machine)}\n${table}\n` +
    `lkst / trace-cmd: captured ${ratio(r.ratios.captured)}, lost ${ratio(r.ratios.lost)}, CPU per event ${ratio(r.ratios.cpuMsPerMillion)}` +
    ` (fixed cost of an idle recording ${ratio(r.ratios.idleCpuMs)}, marginal CPU per event ${ratio(r.ratios.marginalCpuMsPerMillion)})` +
    ` -> loses no more (round by round): ${r.pass.lost ? 'yes' : 'NO'}, CPU per event <= trace-cmd's: ${r.pass.cpu ? 'yes' : 'NO'}\n` +
    `load average (1 min) ${r.load.before.toFixed(2)} before, ${r.load.after.toFixed(2)} after: other load makes both lose events\n`
  );
}
