/**
 * An intent record: written before a multi-step change to the kernel, removed once the state file
 * says it is done. A journal left by a process that is gone means a change was cut short; the next
 * command completes or rolls it back.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from './config.js';
import { errnoCode, LkstError } from './errors.js';
import { processState, selfIdentity, type ProcessIdentity } from './owner.js';

export interface Journal<T> {
  readonly by: ProcessIdentity;
  readonly op: string;
  readonly at: string;
  readonly data: T;
}

export function journalPath(): string {
  return join(stateDir(), 'journal.json');
}

export function writeJournal<T>(op: string, data: T): void {
  const p = journalPath();
  try {
    mkdirSync(stateDir(), { recursive: true });
    writeFileSync(`${p}.tmp`, JSON.stringify({ by: selfIdentity(), op, at: new Date().toISOString(), data }) + '\n');
    renameSync(`${p}.tmp`, p);
  } catch (err) {
    throw new LkstError(`cannot write ${p} (${errnoCode(err) ?? String(err)})`, 'run as root or set LKST_STATE_DIR to a writable directory');
  }
}

/** The journal, if one is left; unreadable ones (cut short while written) read as none. */
export function readJournal<T>(): Journal<T> | undefined {
  try {
    const j = JSON.parse(readFileSync(journalPath(), 'utf8')) as Journal<T>;
    return j && typeof j.op === 'string' && j.by ? j : undefined;
  } catch {
    return undefined;
  }
}

export function removeJournal(): void {
  rmSync(journalPath(), { force: true });
}

/** Whether the journal's writer still runs (then its change is in progress, not cut short). */
export function journalWriterAlive(j: Journal<unknown>): boolean {
  return processState(j.by) !== 'dead';
}
