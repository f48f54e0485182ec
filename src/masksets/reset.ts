/**
 * `lkst reset`: takes down what lkst made and nobody uses any more, and says what it keeps and why.
 * Owner records (base/owner.ts) say who made each instance; without one, a lkst-PID-* name names its
 * process. Buffers are the user's: never removed here.
 */
import { describeOwner, dropOwner, ownedInstances, ownerLive, processStart, readOwner } from '../base/owner.js';
import { removeStalePageFiles } from '../base/page-files.js';
import { Instance } from '../tracefs/instance.js';
import { ownerPid } from '../tracefs/reset.js';
import { bufferNameOf } from '../buffers/name.js';
import { readLiveState } from './live-state.js';
import { ARMED_INSTANCE, resetArmed, takeDown } from './session.js';
import { settleJournal } from './journal.js';

export interface ResetResult {
  readonly lines: string[];
  /** Something lkst made still records or is hooked (kept for the reason given). */
  readonly keptLive: boolean;
}

const alive = (pid: number): boolean => pid === process.pid || processStart(pid) !== undefined;

/**
 * A buffer is the user's: it stays with its content, its filters and pids. A stopped one records
 * nothing, so its events are turned off (unhooked), unless a switch into it is armed.
 */
function settleBuffer(inst: Instance, buffer: string): string {
  const help = `buffers are yours: \`lkst buffer stop ${buffer}\` / \`lkst buffer delete ${buffer}\``;
  const live = readLiveState(inst);
  if (inst.tracingOn) return `kept ${inst.name}: a buffer, recording ${[...live.tracepoints.values()].filter((t) => t.recording).length} events; ${help}`;
  if ([...live.tracepoints.values()].some((t) => t.triggers.some((x) => x.command === 'traceon'))) return `kept ${inst.name}: a buffer, stopped, with a switch into it armed; ${help}`;
  const on = [...live.tracepoints.values()].filter((t) => t.recording);
  for (const t of on) inst.setEventEnabled(...(t.id.split(':') as [string, string]), false);
  return `kept ${inst.name}: a buffer, stopped${on.length ? `; its ${on.length} events turned off (it keeps its content)` : ''}; ${help}`;
}

/** Why an instance stays, or undefined when it is lkst's and nobody's any more. */
function keepReason(name: string, force: boolean): string | undefined {
  const rec = readOwner(name);
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
  let keptLive = armed.startsWith('kept ');
  for (const name of Instance.listNames()) {
    if (!Instance.exists(name)) continue; // gone while we looked
    const buffer = bufferNameOf(name);
    if (buffer) {
      lines.push(settleBuffer(Instance.open(name), buffer));
      continue;
    }
    const why = keepReason(name, force);
    if (why) {
      const inst = Instance.open(name);
      if (inst.tracingOn || inst.enabledEvents().length) keptLive = true;
      lines.push(`kept ${name}: ${why}`);
      continue;
    }
    lines.push(takeDown(Instance.open(name), 'the instance'));
  }
  // Records of instances the kernel no longer has.
  for (const name of ownedInstances()) if (!Instance.exists(name)) dropOwner(name);
  for (const f of removeStalePageFiles(alive)) lines.push(`removed ${f}`);
  return { lines, keptLive };
}
