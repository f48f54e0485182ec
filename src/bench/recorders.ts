import { readdirSync } from 'node:fs';
import { cliPath } from '../base/project-root.js';
import { tracefs } from '../tracefs/tracefs.js';
import { INSTANCE_PREFIX, Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { spawnMeasured, type MeasuredExit, type MeasuredProcess } from './measured-process.js';
import { traceCmdRecorder } from './trace-cmd.js';
import { sleep, waitFor } from './wait.js';
import { lastLines } from './child.js';

/** A recorder started as its own process (so its CPU time is its own), recording until stopped. */
export interface ExternalRecording {
  readonly name: string;
  readonly output: string;
  readonly process: MeasuredProcess;
  /** Stops recording and waits until the file is written. */
  finish(): Promise<MeasuredExit>;
  /** After a kill: removes what the recorder could not (trace-cmd's instance). */
  cleanup(): void;
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
  return cliPath();
}

function enabledIn(dir: string, system: string, event: string | undefined): boolean {
  const top = tracefs();
  const rel = event ? `${dir}/events/${system}/${event}/enable` : `${dir}/events/${system}/enable`;
  return top.read(rel).trim() !== '0' && top.read(`${dir}/tracing_on`).trim() === '1';
}

let traceCmdSeq = 0;

/** Removes an instance a killed recorder left (trace-cmd removes its own when it ends normally). */
function removeInstance(name: string): void {
  if (!Instance.exists(name)) return;
  try {
    Instance.open(name).remove();
  } catch {
    /* `lkst reset` removes it later (the name starts with lkst-) */
  }
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
  return { name: 'lkst', output: opts.output, process: proc, finish: () => finish(proc, 'lkst record'), cleanup: () => {} };
}

/**
 * Starts `trace-cmd record` into its own instance (lkst-PID-tcN: never the top-level buffer, which
 * other tools may use; `lkst reset` clears it if we are killed); resolves once its events are on.
 */
export async function startTraceCmdRecord(opts: ExternalRecordOptions): Promise<ExternalRecording> {
  const tc = traceCmdRecorder();
  const first = opts.events[0];
  if (!first) throw new LkstError('no events to record', 'name at least one event');
  const [system, event] = first.split(':');
  const evArgs = opts.rawEventArgs ?? opts.events.flatMap((e) => ['-e', e]);
  const instance = `${INSTANCE_PREFIX}${process.pid}-tc${++traceCmdSeq}`;
  const args = ['record', '-B', instance, '-b', String(opts.bufferKbPerCpu), '-o', opts.output, ...evArgs, ...(opts.extraArgs ?? [])];
  const proc = spawnMeasured(tc, args);
  try {
    await ready(proc, 'trace-cmd record to start', () => enabledIn(`instances/${instance}`, system!, event));
  } catch (err) {
    removeInstance(instance);
    throw err;
  }
  // trace-cmd turns events on before it resets the buffer and starts its readers: let it finish.
  await sleep(500);
  return { name: 'trace-cmd', output: opts.output, process: proc, finish: () => finish(proc, 'trace-cmd record'), cleanup: () => removeInstance(instance) };
}

async function ready(proc: MeasuredProcess, what: string, pred: () => boolean): Promise<void> {
  let exited: MeasuredExit | undefined;
  void proc.exited.then((e) => (exited = e));
  try {
    // An early exit ends the wait too (waitFor swallows a predicate's throw, so one would only time out).
    await waitFor(what, () => exited !== undefined || pred());
  } catch (err) {
    proc.stop('SIGKILL');
    throw err;
  }
  if (exited) throw new LkstError(`${what.replace(/ to start$/, '')} exited early (code ${exited.exitCode}): ${lastLine(exited.stderr)}`, 'run it by hand to see why');
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
  return lastLines(text, 1) || '(no message)';
}
