/**
 * `lkst reset`: takes down what lkst made and nobody uses any more, and says what it keeps and why.
 * Owner records (base/owner.ts) say who made each instance; without one, a lkst-PID-* name names its
 * process. Buffers are the user's: never removed here.
 */
import { removeDeadProbeGroups } from '../probes/dynamic.js';
import { describeOwner, dropOwner, ownedInstances, ownerLive, processStart, readOwner } from '../base/owner.js';
import { interruptedRecordingDir, removeStalePageFiles } from '../base/page-files.js';
import { stateDir } from '../base/config.js';
import { Instance } from '../tracefs/instance.js';
import { ownerPid } from '../tracefs/reset.js';
import { bufferNameOf } from '../buffers/name.js';
import { readLiveState } from './live-state.js';
import { ARMED_INSTANCE, resetArmed, takeDown } from './session.js';
import { settleJournal } from './journal.js';
import { resetBpfDaemons } from '../bpf/daemon.js';

export interface ResetResult {
  /** What was taken down, and what was kept and why. */
  readonly lines: string[];
}

const alive = (pid: number): boolean => pid === process.pid || processStart(pid) !== undefined;

/**
 * A buffer is the user's (and may be another lkst's prepared switch target): it stays as it is, with
 * what it records or hooks said, so nothing lkst made is left running unnamed.
 */
function bufferLine(inst: Instance, buffer: string): string {
  const help = `buffers are yours: \`lkst buffer stop ${buffer}\` / \`lkst buffer delete ${buffer}\``;
  const live = [...readLiveState(inst).tracepoints.values()];
  const on = live.filter((t) => t.recording).length;
  const armed = live.some((t) => t.triggers.some((x) => x.command === 'traceon'));
  const state = inst.tracingOn ? `recording ${on} events` : `stopped${on ? `, ${on} events still hooked` : ''}`;
  return `kept ${inst.name}: a buffer, ${state}${armed ? ', a switch into it armed' : ''}; ${help}`;
}

/** Why an instance stays, or undefined when it is lkst's and nobody's any more. */
function keepReason(name: string, force: boolean): string | undefined {
  const rec = readOwner(name);
  if (rec && !ownerLive(rec) && !force) {
    // A killed recorder's instance holds the rest of its recording until `recover --partial` reads it.
    const dir = interruptedRecordingDir(rec.stateDir, rec.pid);
    if (dir) return `it holds the rest of the recording lkst pid ${rec.pid} was making when it was killed: \`${rec.stateDir === stateDir() ? '' : `LKST_STATE_DIR=${rec.stateDir} `}lkst recover --partial ${dir}\` writes it; --force takes it down`;
  }
  if (rec) return ownerLive(rec) && !force ? `${describeOwner(rec)} uses it; --force takes it down` : undefined;
  const pid = ownerPid(name);
  if (pid !== undefined) return alive(pid) && !force ? `lkst pid ${pid} is running (no owner record: from an older lkst or a test); --force takes it down` : undefined;
  if (name === ARMED_INSTANCE) return undefined; // a start that died before writing its state
  return force ? undefined : 'made without an owner record (by hand or an older lkst); --force takes it down';
}

export async function resetLkst(opts: { force?: boolean } = {}): Promise<ResetResult> {
  const force = opts.force ?? false;
  const lines = await settleJournal();
  const armed = resetArmed(undefined, { force });
  if (armed !== 'no armed trace') lines.push(armed);
  lines.push(...resetBpfDaemons());
  for (const name of Instance.listNames()) {
    if (!Instance.exists(name)) continue; // gone while we looked
    const buffer = bufferNameOf(name);
    if (buffer) {
      lines.push(bufferLine(Instance.open(name), buffer));
      continue;
    }
    const why = keepReason(name, force);
    if (why) {
      lines.push(`kept ${name}: ${why}`);
      continue;
    }
    try {
      lines.push(takeDown(Instance.open(name), 'the instance'));
    } catch (err) {
      // Another lkst (a recover, a reset) removed it while we took it down.
      if (Instance.exists(name)) throw err;
    }
  }
  // Records of instances the kernel no longer has, whose owner is gone too: a live recorder writes
  // its record before it makes its instance, and must not lose it to a reset in between.
  for (const name of ownedInstances()) {
    const rec = readOwner(name);
    if (!Instance.exists(name) && !(rec && ownerLive(rec))) dropOwner(name);
  }
  for (const f of removeStalePageFiles(alive)) lines.push(`removed ${f}`);
  // Probes after instances: one still enabled in an instance cannot be removed.
  lines.push(...removeDeadProbeGroups(alive));
  return { lines };
}
