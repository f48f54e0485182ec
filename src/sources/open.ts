/**
 * One `open` for any input path: a trace.dat (v6/v7, lkst's or trace-cmd's) or a crash dump (ELF
 * vmcore, kdump plain or flattened, raw memory image), each as the one trace model. The dump readers are loaded only for dumps.
 */
import { closeSync, readSync, statSync } from 'node:fs';
import { notRegularFile, openRegularFile } from '../base/input-file.js';
import { shownText } from '../base/text.js';
import { LkstError } from '../base/errors.js';
import { MAGIC } from '../file/layout.js';
import { openTraceDat } from '../file/reader.js';
import type { Trace } from '../trace/model.js';

export interface OpenOptions {
  /** For dumps: System.map of the crashed kernel when its kallsyms cannot be used. */
  systemMap?: string;
  /** For dumps: vmlinux or vmlinuz of the crashed kernel. */
  kernel?: string;
}

export async function openTrace(path: string, opts: OpenOptions = {}): Promise<Trace> {
  checkReadable(path);
  if (!startsWithMagic(path)) {
    const { isDumpFile, mayBeRawImage } = await import('../crash/open.js');
    // A raw memory image has no magic: a file that is nothing else and has its shape is read as one.
    if (isDumpFile(path)) {
      const { openDumpTrace } = await import('../crash/source.js');
      return openDumpTrace(path, opts);
    }
    if (mayBeRawImage(path)) {
      const { openDumpTrace } = await import('../crash/source.js');
      try {
        return openDumpTrace(path, opts);
      } catch (e) {
        // Taken for a raw image only for want of a header: say what it is not, both ways.
        if (e instanceof LkstError && /no VMCOREINFO|first MiB is all zeros/.test(e.message)) {
          throw new LkstError(`${shownText(path)} is neither a trace.dat (no trace.dat magic) nor a dump (no ELF or kdump header, and no kernel's VMCOREINFO in it as a raw memory image)`, 'give a trace.dat file or a crash dump');
        }
        throw e;
      }
    }
  }
  return openTraceDat(path);
}

/** Runs fn on the opened trace and closes it afterwards, also when fn fails. */
export async function withOpenTrace<T>(path: string, fn: (t: Trace) => T | Promise<T>, opts: OpenOptions = {}): Promise<T> {
  const t = await openTrace(path, opts);
  try {
    return await fn(t);
  } finally {
    t.close();
  }
}

function checkReadable(path: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    throw new LkstError(`cannot open ${shownText(path)} (${(err as NodeJS.ErrnoException).code ?? err})`, 'record one with `lkst record` or give the path of a trace file');
  }
  if (!st.isFile()) throw notRegularFile(path, st, 'a trace.dat file or a crash dump');
}

function startsWithMagic(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openRegularFile(path, 'a trace file').fd;
    const head = Buffer.alloc(MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
