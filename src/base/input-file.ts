/** Opening an input for reading in place: only regular files, and never a wait on a FIFO's writer. */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { LkstError } from './errors.js';
import { shownText } from './text.js';

/** What a non-regular file is, for a message. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The one-line refusal of a non-regular input; wanted says what to give instead. */
export function notRegularFile(path: string, st: Stats, wanted: string): LkstError {
  const kind = fileKind(st);
  return new LkstError(`${shownText(path)} is ${kind}`, `give ${wanted}${st.isDirectory() ? '' : ' (lkst reads its inputs in place, not from a pipe or device)'}`);
}

/**
 * Opens path read-only and returns its descriptor and size. O_NONBLOCK: opening a FIFO without a
 * writer returns at once (a plain open would wait forever), and the fstat then refuses it. Open
 * errors are thrown as they come (callers name the cause); non-regular files as LkstError.
 */
export function openRegularFile(path: string, wanted: string): { fd: number; size: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!st.isFile()) {
    closeSync(fd);
    throw notRegularFile(path, st, wanted);
  }
  return { fd, size: st.size };
}

/** A whole regular file (a kernel image, a symbol map): refused when not regular, so a FIFO cannot hang the read. */
export function readRegularFile(path: string, wanted: string): Buffer {
  const { fd } = openRegularFile(path, wanted);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
