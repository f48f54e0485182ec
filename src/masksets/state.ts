import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';
import { stateDir } from '../base/config.js';
import { STATE_FILE } from '../base/owner.js';
import type { Maskset, MasksetEntry } from './model.js';
import type { MissingEvent } from './plan.js';

export interface SwitchRecord {
  readonly from: string;
  readonly to: string;
  readonly at: string;
  /** First to last kernel write that changed what is recorded, in microseconds. */
  readonly windowUs: number;
  readonly writes: number;
  readonly skipped: readonly string[];
}

/** A trigger the applied table put in another instance (a buffer), for stop and reset to take back. */
export interface ForeignTrigger {
  readonly instance: string;
  readonly tracepoint: string;
  readonly command: string;
}

/**
 * What `lkst start` armed, kept so later commands know the instance and the table lkst last applied.
 * The kernel is the truth about what is traced; this file only says what lkst meant.
 */
export interface TraceState {
  readonly version: 1;
  readonly instance: string;
  readonly maskset: string;
  /** The applied table (the maskset as it was, plus `lkst handler set` changes). */
  readonly entries: readonly MasksetEntry[];
  /** Events changed by `lkst handler set` since the maskset was applied. */
  readonly edited: readonly string[];
  readonly skipped: readonly MissingEvent[];
  /** Triggers the table put in other buffers (`switch buffer=`, `stop buffer=`). */
  readonly targets?: readonly ForeignTrigger[];
  /** ANDed into every event's filter, by a switch too (a recorder leaving its own tasks out). */
  readonly andFilter?: string;
  readonly startedAt: string;
  readonly stopped: boolean;
  readonly switches: readonly SwitchRecord[];
}

export function statePath(): string {
  return join(stateDir(), STATE_FILE);
}

export function readState(): TraceState | undefined {
  let text: string;
  try {
    text = readFileSync(statePath(), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new LkstError(`cannot read ${statePath()} (${errnoCode(err) ?? String(err)})`, 'run as root');
  }
  try {
    const s = JSON.parse(text) as TraceState;
    if (s.version !== 1 || typeof s.instance !== 'string') throw new Error('unknown version');
    return s;
  } catch {
    throw new LkstError(`${statePath()} is damaged`, '`lkst reset` clears the armed trace and the file');
  }
}

/** The armed trace, or an error saying how to arm one. */
export function requireState(): TraceState {
  const s = readState();
  if (!s) throw new LkstError('no trace is armed', 'start one with `lkst start -m MASKSET`');
  return s;
}

export function writeState(s: TraceState): void {
  const p = statePath();
  try {
    mkdirSync(stateDir(), { recursive: true });
    writeFileSync(p + '.tmp', JSON.stringify(s, null, 1) + '\n');
    renameSync(p + '.tmp', p);
  } catch (err) {
    throw new LkstError(`cannot write ${p} (${errnoCode(err) ?? String(err)})`, 'run as root or set LKST_STATE_DIR to a writable directory');
  }
}

export function removeState(): void {
  try {
    unlinkSync(statePath());
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new LkstError(`cannot remove ${statePath()} (${errnoCode(err)})`, 'run as root');
  }
}

/**
 * The maskset lkst says is in force in an instance: the armed (or announced recording) trace's,
 * when it records there or a switch of its table moves it there; for the files lkst writes.
 */
export function masksetIn(instance: string): string | undefined {
  let s: TraceState | undefined;
  try {
    s = readState();
  } catch {
    return undefined; // a damaged state file: the file simply names no maskset
  }
  if (!s || s.stopped) return undefined;
  return s.instance === instance || (s.targets ?? []).some((t) => t.command === 'traceon' && t.instance === instance) ? s.maskset : undefined;
}

/** The table a state file says was applied, as a maskset. */
export function stateMaskset(s: TraceState): Maskset {
  return { name: s.maskset, description: '', includes: [], entries: s.entries, source: 'the armed trace' };
}
