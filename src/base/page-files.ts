/**
 * A recorder's page files sit next to its output (same disk, often large), where `lkst reset` cannot
 * guess them: each recorder leaves a note in the state directory naming its directory, so a reset
 * after the recorder was killed can remove the files of a pid that is gone.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from './config.js';

const PAGE_FILE_RE = /^\.lkst-(\d+)-cpu\d+\.pages(\.head)?$/;

function notesDir(state = stateDir()): string {
  return join(state, 'page-files');
}

/** Where a recorder's journal (record/partial.ts) lies beside its page files. */
export function recordingJournalPath(dir: string, pid = process.pid): string {
  return join(dir, `.lkst-${pid}.partial.json`);
}

export function pageFilePath(dir: string, cpu: number, pid = process.pid): string {
  return join(dir, `.lkst-${pid}-cpu${cpu}.pages`);
}

/**
 * Beside a page file that became the trace file (file/writer.ts writeAdopted): how many bytes now
 * precede its pages. While it exists, the page file's pages start that far in.
 */
export function adoptedMarkerPath(pageFile: string): string {
  return `${pageFile}.head`;
}

/**
 * Undoes an adoption cut short (a kill while the trace was written): the page file's pages are
 * copied out of it into a file under its name (the trace may share its inode). Returns the bytes
 * that preceded them, 0 when it was not adopted.
 */
export function unadoptPageFile(pageFile: string): number {
  const marker = adoptedMarkerPath(pageFile);
  let head: number;
  try {
    head = Number(readFileSync(marker, 'utf8').trim());
  } catch {
    return 0;
  }
  if (existsSync(pageFile) && Number.isSafeInteger(head) && head > 0) {
    const tmp = `${pageFile}.unadopt`;
    copyFileRange(pageFile, head, tmp);
    renameSync(tmp, pageFile);
  }
  rmSync(marker, { force: true });
  return head;
}

/** Copies src from offset `from` to its end into a new file dst. */
function copyFileRange(src: string, from: number, dst: string): void {
  const i = openSync(src, 'r');
  const o = openSync(dst, 'w');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = from; ; ) {
      const n = readSync(i, buf, 0, buf.length, at);
      if (n === 0) break;
      writeSync(o, buf, 0, n);
      at += n;
    }
    fsyncSync(o);
  } finally {
    closeSync(i);
    closeSync(o);
  }
}

/** Says where this process writes page files, until forgetPageFiles. */
export function notePageFiles(dir: string): void {
  mkdirSync(notesDir(), { recursive: true });
  writeFileSync(join(notesDir(), String(process.pid)), dir);
}

/** Removes this process's page files in dir and its note. */
export function removePageFiles(dir: string, cpus: readonly number[]): void {
  for (const cpu of cpus) {
    rmSync(pageFilePath(dir, cpu), { force: true });
    rmSync(adoptedMarkerPath(pageFilePath(dir, cpu)), { force: true });
  }
  rmSync(join(notesDir(), String(process.pid)), { force: true });
}

/** Forgets a recorder's note (its page files were dealt with). */
export function forgetNote(pid: number): void {
  rmSync(join(notesDir(), String(pid)), { force: true });
}

/** Directories noted by recorders, by pid. */
export function notedDirs(): { pid: number; dir: string }[] {
  let notes: string[];
  try {
    notes = readdirSync(notesDir());
  } catch {
    return [];
  }
  const out: { pid: number; dir: string }[] = [];
  for (const note of notes) {
    const pid = Number(note);
    if (!Number.isInteger(pid)) continue;
    try {
      out.push({ pid, dir: readFileSync(join(notesDir(), note), 'utf8') });
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

/** A recorder's journal (record/partial.ts): its pages can still become a trace, so they are never removed as stale. */
function hasJournal(dir: string, pid: number): boolean {
  return existsSync(recordingJournalPath(dir, pid));
}

/**
 * Removes the page files (and notes) of recorders that are gone, except those a journal makes a
 * trace of (`lkst recover --partial`); returns the files removed.
 */
export function removeStalePageFiles(alive: (pid: number) => boolean): string[] {
  let notes: string[];
  try {
    notes = readdirSync(notesDir());
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const note of notes) {
    const pid = Number(note);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    const dir = readFileSync(join(notesDir(), note), 'utf8');
    if (hasJournal(dir, pid)) continue;
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      /* the directory went with its files */
    }
    for (const name of names) {
      if (Number(PAGE_FILE_RE.exec(name)?.[1]) !== pid) continue;
      rmSync(join(dir, name), { force: true });
      removed.push(join(dir, name));
    }
    rmSync(join(notesDir(), note), { force: true });
  }
  return removed;
}

/** Cuts a page file to whole pages (a write cut by a kill, power loss or a full disk leaves a torn one); returns the bytes cut. */
export function truncateToWholePages(path: string, pageSize: number): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const torn = size % pageSize;
    if (torn) ftruncateSync(fd, size - torn);
    return torn;
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a dead recorder of that state directory left an interrupted recording (its page files and
 * journal, record/partial.ts), or undefined when it left none.
 */
export function interruptedRecordingDir(state: string, pid: number): string | undefined {
  try {
    const dir = readFileSync(join(notesDir(state), String(pid)), 'utf8');
    return hasJournal(dir, pid) ? dir : undefined;
  } catch {
    return undefined;
  }
}
