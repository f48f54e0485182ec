import { readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tracefs } from '../tracefs/tracefs.js';
import { INSTANCE_PREFIX } from '../tracefs/instance.js';
import { LkstError } from '../tracefs/errors.js';
import { spawnMeasured, type MeasuredExit, type MeasuredProcess } from './measured-process.js';
import { traceCmdRecorder } from './trace-cmd.js';
import { sleep, waitFor } from './wait.js';

/** A recorder started as its own process (so its CPU time is its own), recording until stopped. */
export interface ExternalRecording {
  readonly name: string;
  readonly output: string;
  readonly process: MeasuredProcess;
  /** Stops recording and waits until the file is written. */
  finish(): Promise<MeasuredExit>;
}

export interface ExternalRecordOptions {
  /** system:event or system (every event of it), as trace-cmd takes them. */
  events: string[];
  bufferKbPerCpu: number;
  output: string;
  /** Extra recorder arguments. */
  extraArgs?: string[];
  /** Event arguments as given (`-e S:E -f FILTER ...`), instead of one -e per `events` entry; `events[0]` is still what marks it started. */
  rawEventArgs?: string[];
}

function lkstMain(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '../cli/main.js');
}

function enabledInTop(system: string, event: string | undefined): boolean {
  const top = tracefs();
  const rel = event ? `events/${system}/${event}/enable` : `events/${system}/enable`;
  return top.read(rel).trim() !== '0' && top.read('tracing_on').trim() === '1';
}

function lkstInstances(): string[] {
  try {
    return readdirSync(tracefs().path('instances')).filter((n) => n.startsWith(INSTANCE_PREFIX));
  } catch {
    return [];
  }
}

/** Starts `lkst record` (this build) in its own process; resolves once its instance is recording. */
export async function startLkstRecord(opts: ExternalRecordOptions): Promise<ExternalRecording> {
  const before = new Set(lkstInstances());
  const events = opts.events.map((e) => (e.includes(':') ? e : `${e}:*`));
  const args = [lkstMain(), 'record', '-q', '-b', String(opts.bufferKbPerCpu), '-o', opts.output, ...events.flatMap((e) => ['-e', e]), ...(opts.extraArgs ?? [])];
  const proc = spawnMeasured(process.execPath, args);
  const top = tracefs();
  await ready(proc, 'lkst record to start', () =>
    lkstInstances().some((n) => !before.has(n) && top.read(`instances/${n}/tracing_on`).trim() === '1'),
  );
  return { name: 'lkst', output: opts.output, process: proc, finish: () => finish(proc, 'lkst record') };
}

/** Starts `trace-cmd record` in the top-level buffer; resolves once its events are on. */
export async function startTraceCmdRecord(opts: ExternalRecordOptions): Promise<ExternalRecording> {
  const tc = traceCmdRecorder();
  if (!tc) throw new LkstError('trace-cmd is not installed', 'apt-get install trace-cmd, or leave out the trace-cmd comparison');
  const first = opts.events[0];
  if (!first) throw new LkstError('no events to record', 'name at least one event');
  const [system, event] = first.split(':');
  const evArgs = opts.rawEventArgs ?? opts.events.flatMap((e) => ['-e', e]);
  const args = ['record', '-b', String(opts.bufferKbPerCpu), '-o', opts.output, ...evArgs, ...(opts.extraArgs ?? [])];
  const proc = spawnMeasured(tc, args);
  await ready(proc, 'trace-cmd record to start', () => enabledInTop(system!, event));
  // trace-cmd turns events on before it resets the buffer and starts its readers: let it finish.
  await sleep(500);
  return { name: 'trace-cmd', output: opts.output, process: proc, finish: () => finish(proc, 'trace-cmd record') };
}

async function ready(proc: MeasuredProcess, what: string, pred: () => boolean): Promise<void> {
  let exited: MeasuredExit | undefined;
  void proc.exited.then((e) => (exited = e));
  try {
    await waitFor(what, () => {
      if (exited) throw new LkstError(`${what.replace(/ to start$/, '')} exited early (${exited.exitCode}): ${lastLine(exited.stderr)}`, 'run it by hand to see why');
      return pred();
    });
  } catch (err) {
    proc.stop('SIGKILL');
    if (exited) throw new LkstError(`${what.replace(/ to start$/, '')} exited early (code ${exited.exitCode}): ${lastLine(exited.stderr)}`, 'run it by hand to see why');
    throw err;
  }
}

async function finish(proc: MeasuredProcess, what: string): Promise<MeasuredExit> {
  proc.stop('SIGINT');
  const killer = setTimeout(() => proc.stop('SIGKILL'), 120_000);
  const e = await proc.exited;
  clearTimeout(killer);
  if (e.exitCode !== 0 && e.exitCode !== 130) throw new LkstError(`${what} failed (exit ${e.exitCode}): ${lastLine(e.stderr)}`, 'run it by hand to see why');
  return e;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '(no message)';
}

/**
 * Turns off, in the top-level buffer, the events a killed trace-cmd was given (it could not do it
 * itself). Only those: another tool may be using other top-level events.
 */
export function disableTopLevelEvents(events: { system: string; event: string; enabled?: boolean }[] | KernelPlanLike): void {
  const list = Array.isArray(events) ? events : [...events.tracepoints.values()].filter((t) => t.enabled);
  const top = tracefs();
  for (const e of list) {
    try {
      top.write(`events/${e.system}/${e.event}/enable`, '0');
    } catch {
      /* gone or refused: nothing more to do */
    }
  }
}

interface KernelPlanLike {
  tracepoints: ReadonlyMap<string, { system: string; event: string; enabled: boolean }>;
}
