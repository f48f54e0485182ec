/**
 * Changes to the armed trace that take several kernel writes run under a journal (base/journal.ts):
 * a kill midway leaves it, and the next command settles the kernel from it: a maskset change is
 * completed (or, when that fails, the table before it is put back), a buffer switch is completed or
 * undone by what the kernel shows. Scratch instances of killed processes go too.
 */
import { LkstError } from '../base/errors.js';
import { faultPoint } from '../base/fault.js';
import { journalWriterAlive, readJournal, removeJournal, writeJournal, type Journal } from '../base/journal.js';
import { dropOwner, ownedInstances, processState, readOwner } from '../base/owner.js';
import { Instance } from '../tracefs/instance.js';
import { applyPlan, clearInstance } from './apply.js';
import { compileMaskset } from './compile.js';
import { loadMasksetEnv } from './env.js';
import { stateMaskset, writeState, type TraceState } from './state.js';

interface MasksetChange {
  readonly before: TraceState;
  readonly after: TraceState;
}

interface BufferSwitch {
  readonly from: string;
  readonly to: string;
  readonly state?: TraceState;
}

/** Runs a change of the armed table under a journal; the state file is written last. */
export async function journaledChange<T>(before: TraceState, after: TraceState, apply: () => Promise<T>, done: (r: T) => TraceState): Promise<T> {
  writeJournal<MasksetChange>('maskset', { before, after });
  faultPoint('maskset:journal');
  let r: T;
  try {
    r = await apply();
  } catch (err) {
    removeJournal(); // applyPlan put the table before back, or its error says it could not
    throw err;
  }
  faultPoint('maskset:state');
  writeState(done(r));
  removeJournal();
  return r;
}

/** Runs a buffer switch under a journal; state (the armed trace moved along) is written last. */
export function journaledBufferSwitch<T>(from: Instance, to: Instance, state: TraceState | undefined, run: () => T): T {
  writeJournal<BufferSwitch>('buffer-switch', { from: from.name, to: to.name, ...(state ? { state } : {}) });
  faultPoint('buffer-switch:journal');
  const r = run();
  faultPoint('buffer-switch:state');
  if (state) writeState({ ...state, instance: to.name });
  removeJournal();
  return r;
}

async function settleMaskset(j: Journal<MasksetChange>): Promise<string> {
  const { before, after } = j.data;
  const by = `lkst pid ${j.by.pid}`;
  if (!Instance.exists(after.instance)) {
    writeState(before);
    return `a change of the armed trace by ${by} was cut short and its instance ${after.instance} is gone; the state is as before it`;
  }
  const inst = Instance.open(after.instance);
  const env = await loadMasksetEnv();
  const planBefore = compileMaskset(stateMaskset(before), env);
  try {
    applyPlan(inst, compileMaskset(stateMaskset(after), env), { previous: planBefore, skipMissing: true });
    writeState(after);
    return `completed the change ${before.maskset} -> ${after.maskset} that ${by} left half done (killed)`;
  } catch (err) {
    // applyPlan put back the table before when it could; the state says so.
    writeState(before);
    throw new LkstError(`the change ${before.maskset} -> ${after.maskset} that ${by} left half done could not be completed (${(err as Error).message})`, '`lkst status` shows what the kernel does now; `lkst reset` clears it');
  }
}

function settleBufferSwitch(j: Journal<BufferSwitch>): string {
  const { from, to, state } = j.data;
  const by = `lkst pid ${j.by.pid}`;
  const on = (n: string): boolean | undefined => (Instance.exists(n) ? Instance.open(n).tracingOn : undefined);
  const fromOn = on(from);
  const toOn = on(to);
  // Not flipped yet (or the target is gone): the old buffer keeps recording; the target stays stopped.
  if (toOn === undefined || (fromOn && !toOn)) {
    if (toOn === false) Instance.open(to).tracingOn = false;
    return `undid the switch ${from} -> ${to} that ${by} left half done (killed before it flipped)`;
  }
  // Flipped, or in between (both on: start-first; both off: stop-first): finish it.
  if (fromOn) Instance.open(from).tracingOn = false;
  if (!toOn) Instance.open(to).tracingOn = true;
  if (state) writeState({ ...state, instance: to });
  return `completed the switch ${from} -> ${to} that ${by} left half done (killed)`;
}

/** Removes the scratch instances (lkst-PID-check) of processes that are gone. */
function removeDeadScratch(): string[] {
  const out: string[] = [];
  for (const name of ownedInstances()) {
    const rec = readOwner(name);
    if (rec?.kind !== 'scratch' || processState(rec) !== 'dead') continue;
    if (Instance.exists(name)) {
      try {
        const inst = Instance.open(name);
        clearInstance(inst);
        inst.remove();
        out.push(`removed ${name}, a scratch instance left by killed lkst pid ${rec.pid}`);
      } catch (err) {
        // Another lkst (a reset, the next command elsewhere) removed it first.
        if (Instance.exists(name)) throw err;
      }
    }
    dropOwner(name);
  }
  return out;
}

function journalText(j: Journal<MasksetChange | BufferSwitch>): string {
  const d = j.data;
  const what = 'before' in d ? `the maskset change ${d.before.maskset} -> ${d.after.maskset}` : `the buffer switch ${d.from} -> ${d.to}`;
  return `${what} by lkst pid ${j.by.pid}`;
}

/** What a killed (or running) command left, for `lkst status`, which changes nothing. */
export function pendingWork(): string[] {
  const out: string[] = [];
  for (const name of ownedInstances()) {
    const rec = readOwner(name);
    if (rec?.kind === 'scratch' && processState(rec) === 'dead' && Instance.exists(name)) out.push(`${name} is a scratch instance left by killed lkst pid ${rec.pid} (the next lkst command removes it)`);
  }
  const j = readJournal<MasksetChange | BufferSwitch>();
  if (j) out.push(journalWriterAlive(j) ? `${journalText(j)} is in progress` : `${journalText(j)} was cut short (killed): the kernel may differ from the table below; the next lkst command completes it`);
  return out;
}

/**
 * Settles what a killed command left: returns what was done, for the command to print. A change
 * still running in another process is refused.
 */
export async function settleJournal(): Promise<string[]> {
  const notes = removeDeadScratch();
  const j = readJournal<MasksetChange | BufferSwitch>();
  if (!j) {
    removeJournal(); // an unreadable one (edited by hand) would block every change
    return notes;
  }
  if (journalWriterAlive(j)) throw new LkstError(`${journalText(j)} is in progress`, 'wait for it to end and retry');
  try {
    notes.push(j.op === 'buffer-switch' ? settleBufferSwitch(j as Journal<BufferSwitch>) : await settleMaskset(j as Journal<MasksetChange>));
  } finally {
    removeJournal();
  }
  return notes;
}
