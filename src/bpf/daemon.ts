/**
 * Handlers on BPF without a recorder (`lkst start -m` of a maskset with count, alert, switch
 * engine=bpf): lkst-bpf-run runs on alone, detached, in the instance's live directory (counts for
 * `lkst status`, alerts for `lkst watch`, the control FIFO for `lkst maskset switch` and `lkst
 * handler set`), until `lkst stop` or `lkst reset` ends it with SIGTERM. Its programs are held by
 * its file descriptors, not pinned: when it dies, even by kill -9, the kernel detaches them, so
 * nothing of lkst stays hooked; daemon.json (the process's identity) says which process it is.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../base/config.js';
import { LkstError } from '../base/errors.js';
import { processStart, processState, selfIdentity, type ProcessIdentity } from '../base/owner.js';
import { sleepSync } from '../base/sleep-sync.js';
import { grouped } from '../base/grouped.js';
import { renderCounts, decodeCounts } from './counts.js';
import type { CountLayout } from './codegen.js';
import { armedIn } from '../base/owner.js';
import { prepareHandlers, recordsIntoBpf, type BpfEntry } from './engine.js';
import { liveCountsDir } from './live-counts.js';
import { liveUnits } from './live-params.js';
import { parseRunOutput, runFailure, runnerEnv, runnerPath } from './runner.js';

const DAEMON_FILE = 'daemon.json';

export interface DaemonRecord extends ProcessIdentity {
  readonly instance: string;
  readonly programs: number;
  readonly startedAt: string;
}

/** The no-recorder runner of an instance, if lkst started one (it may be dead). */
export function readDaemon(instance: string): DaemonRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(liveCountsDir(instance), DAEMON_FILE), 'utf8')) as DaemonRecord;
  } catch {
    return undefined;
  }
}

/**
 * Starts the handlers of an armed trace without a recorder; returns once every program is
 * attached. Handlers that make records are refused: without a recorder their records reach no trace.
 */
export function startBpfDaemon(entries: readonly BpfEntry[], instance: string, masksets: readonly string[]): DaemonRecord {
  const recorded = entries.find((e) => e.handler === 'route') ?? (recordsIntoBpf(entries) ? entries.find((e) => e.handler !== 'count' && e.handler !== 'switch') : undefined);
  if (recorded) throw new LkstError(`${recorded.from}: ${recorded.handler} on BPF makes records, and an armed trace has no recorder to put them in a trace`, 'record this maskset with `lkst record -m`, or arm only count, alert (no record=/freeze=bpf) and switch handlers on BPF');
  // A runner left from an earlier start of this instance (its state lost) would be orphaned by the new live directory.
  stopBpfDaemon(instance);
  const { object, live, init } = prepareHandlers(entries, instance, masksets);
  const work = join(live, 'work');
  mkdirSync(work, { recursive: true });
  const out = openSync(join(live, 'daemon.out'), 'w');
  const err = openSync(join(live, 'daemon.err'), 'w');
  let pid: number | undefined;
  try {
    const child = spawn(runnerPath(), [object, work, live], { detached: true, stdio: ['ignore', out, err], env: { ...runnerEnv(work, [], init), LKST_DAEMON: '1' } });
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(out);
    closeSync(err);
  }
  if (pid === undefined) throw new LkstError('lkst-bpf-run did not start', 'check that /var/tmp/lkst is writable');
  const rec: DaemonRecord = { ...selfIdentity(), pid, start: processStart(pid) ?? 0, instance, programs: 0, startedAt: new Date().toISOString() };
  writeFileSync(join(live, DAEMON_FILE), JSON.stringify(rec));
  for (;;) {
    const m = /^attached (\d+)$/m.exec(readFileSync(join(live, 'daemon.out'), 'utf8'));
    if (m) {
      const done = { ...rec, programs: Number(m[1]) };
      writeFileSync(join(live, DAEMON_FILE), JSON.stringify(done));
      return done;
    }
    if (processState(rec) === 'dead' || zombie(pid)) {
      const why = runFailure(readFileSync(join(live, 'daemon.err'), 'utf8'), null);
      rmSync(live, { recursive: true, force: true });
      throw why;
    }
    sleepSync(20);
  }
}

/** Whether the runner still runs: alive (the same process, not a reused pid) and not a zombie. */
function running(rec: DaemonRecord): boolean {
  return processState(rec) === 'alive' && !zombie(rec.pid);
}

/** A process that exited and waits for its parent to reap it. */
function zombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')'));
  } catch {
    return false;
  }
}

/**
 * Ends an instance's no-recorder runner (SIGTERM: it detaches its programs and prints its tables)
 * and removes its live directory. Returns what to say: the final tables, or that it had died
 * (killed: its programs went with it); undefined when the instance has none.
 */
export function stopBpfDaemon(instance: string): string[] | undefined {
  const rec = readDaemon(instance);
  if (!rec) return undefined;
  const live = liveCountsDir(instance);
  const lines: string[] = [];
  if (running(rec)) {
    process.kill(rec.pid, 'SIGTERM');
    for (let i = 0; i < 500 && running(rec); i++) sleepSync(20);
    if (running(rec)) {
      process.kill(rec.pid, 'SIGKILL');
      lines.push(`lkst-bpf-run pid ${rec.pid} did not end in 10 s on SIGTERM: killed (its programs detach as it exits; its final tables are lost)`);
    } else {
      const res = parseRunOutput(readFileSync(join(live, 'daemon.out'), 'utf8'));
      lines.push(`handlers on BPF of ${instance}: ${rec.programs} programs detached (lkst-bpf-run pid ${rec.pid} ended)`);
      const layouts = JSON.parse(readFileSync(join(live, 'layout.json'), 'utf8')) as CountLayout[];
      if (layouts.length) lines.push(...renderCounts(decodeCounts(layouts, res.counts, res.nokey), 10));
      if (liveUnits(instance)?.alerts.length) lines.push(`BPF alerts: ${grouped(res.alerts)}${res.alertsLost ? `, ${grouped(res.alertsLost)} LOST (the alert ring was full)` : ''}`);
    }
  } else lines.push(`lkst-bpf-run pid ${rec.pid} of ${instance} had died (killed?); its programs went with it`);
  rmSync(live, { recursive: true, force: true });
  return lines;
}

/** `lkst status`'s line about an instance's no-recorder runner, if it has one. */
export function daemonStatus(instance: string): string | undefined {
  const rec = readDaemon(instance);
  if (!rec) return undefined;
  const alive = running(rec);
  return alive
    ? `handlers on BPF: ${rec.programs} programs held by lkst-bpf-run pid ${rec.pid} (no recorder; \`lkst stop\` detaches them)`
    : `handlers on BPF: DEAD, lkst-bpf-run pid ${rec.pid} is gone (killed?) and its programs with it; \`lkst stop\` or \`lkst reset\` clears what is left`;
}

/**
 * For `lkst reset`, after the armed trace's: every no-recorder runner of this state directory but
 * the armed trace's (reset keeps one another lkst owns), ended and its directory removed.
 */
export function resetBpfDaemons(): string[] {
  const root = join(stateDir(), 'bpf');
  if (!existsSync(root)) return [];
  const keep = armedIn(stateDir());
  return readdirSync(root)
    .sort()
    .filter((i) => i !== keep && readDaemon(i))
    .flatMap((i) => stopBpfDaemon(i) ?? []);
}
