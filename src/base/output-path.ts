import { accessSync, constants, lstatSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LkstError, errnoCode } from './errors.js';

/** What a path is, in an operator's words, when it is not a regular file. */
function kindOf(st: Stats): string | undefined {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  return undefined;
}

/**
 * Checks, before any work starts, that an output file can be written at path. Outputs are written
 * to a temporary name beside the target and renamed over it: that would replace a device, a pipe or
 * a symbolic link itself, so only a regular file (or nothing) may be there, and never an input.
 */
export function checkOutputPath(path: string, opts: { inputs?: readonly string[] } = {}): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    throw new LkstError(`cannot write ${path}: the directory ${dir} does not exist (${errnoCode(err)})`, 'create it or choose another -o');
  }
  if (!st.isDirectory()) throw new LkstError(`cannot write ${path}: ${dir} is not a directory`, 'choose another -o');
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new LkstError(`cannot write into ${dir}`, 'choose a directory you can write to, or run as root');
  }
  let target: Stats;
  try {
    target = lstatSync(path);
  } catch {
    return; // nothing there yet
  }
  const kind = kindOf(target);
  if (kind === 'a directory') throw new LkstError(`${path} is a directory`, 'give a file name with -o, e.g. -o trace.dat');
  if (kind) throw new LkstError(`${path} is ${kind}: lkst writes a new file and renames it into place, which would replace it`, 'give -o the name of a regular file');
  for (const input of opts.inputs ?? []) {
    let same = resolve(input) === resolve(path);
    try {
      const i = statSync(input);
      same ||= i.dev === target.dev && i.ino === target.ino;
    } catch {
      /* an input that cannot be read is reported by its reader */
    }
    if (same) throw new LkstError(`${path} is the input ${input}: writing it would destroy what is being read`, 'give -o another file name');
  }
}
