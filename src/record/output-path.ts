import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';

/** Checks, before any tracing starts, that a trace file can be written at path. */
export function checkOutputPath(path: string): void {
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
  try {
    if (statSync(path).isDirectory()) throw new LkstError(`${path} is a directory`, 'give a file name with -o, e.g. -o trace.dat');
  } catch (err) {
    if (err instanceof LkstError) throw err;
  }
}
