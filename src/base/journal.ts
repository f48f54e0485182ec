/**
 * An intent record: written before a multi-step change to the kernel, removed once the state file
 * says it is done. A journal left by a process that is gone means a change was cut short; the next
 * command completes or rolls it back.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Writes the journal; it doubles as a lock: linked into place only if none is there, so a second
 * change started at the same moment from another shell is refused, naming the first.
 */
export function writeJournal<T>(op: string, data: T): void {
  const p = journalPath();
  const tmp = `${p}.${process.pid}.tmp`;
  try {
    mkdirSync(stateDir(), { recursive: true });
    writeFileSync(tmp, JSON.stringify({ by: selfIdentity(), op, at: new Date().toISOString(), data }) + '\n');
    linkSync(tmp, p);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') {
      const other = readJournal();
      throw new LkstError(`another change of the armed trace is under way${other ? ` (${other.op} by lkst pid ${other.by.pid})` : ''}`, 'wait for it to end and retry');
    }
    throw new LkstError(`cannot write ${p} (${errnoCode(err) ?? String(err)})`, 'run as root or set LKST_STATE_DIR to a writable directory');
  } finally {
    rmSync(tmp, { force: true });
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
