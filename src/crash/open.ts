// Opens a dump of any supported format: ELF vmcore, kdump-compressed (plain or flattened), raw image.
import { statSync } from 'node:fs';
import { LkstError } from '../base/errors.js';
import { notRegularFile } from '../base/input-file.js';
import { ElfDump, isElf } from './elf.js';
import { dumpError } from './errors.js';
import { FileAccess, type RandomAccess } from './file-io.js';
import { FlatAccess, isFlattened } from './flat.js';
import { isKdump, KdumpDump } from './kdump.js';
import type { PhysMemory } from './physmem.js';
import { RawImage } from './raw.js';

const LOW_MEMORY = 1 << 20;
const TRACE_DAT_MAGIC = Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing', 'latin1')]);

/**
 * Whether a file looks like a dump (ELF core, kdump, flattened kdump) rather than a trace.dat,
 * from its first bytes. Raw memory images have no magic: callers pass those to recover explicitly.
 */
export function isDumpFile(path: string): boolean {
  let f: FileAccess | undefined;
  try {
    f = new FileAccess(path);
    const head = f.read(0, 64);
    return (isElf(head) && head.length >= 18 && head.readUInt16LE(16) === 4) || isKdump(head) || isFlattened(head);
  } catch {
    return false;
  } finally {
    f?.close();
  }
}

/** Whether a file that is no trace.dat and no dump by its first bytes has a raw memory image's shape. */
export function mayBeRawImage(path: string): boolean {
  let f: FileAccess | undefined;
  try {
    f = new FileAccess(path);
    return isRawShape(f, f.read(0, 64));
  } catch {
    return false;
  } finally {
    f?.close();
  }
}

function isRawShape(file: RandomAccess, head: Buffer): boolean {
  return file.size >= LOW_MEMORY && file.size % 4096 === 0 && !head.subarray(0, 10).equals(TRACE_DAT_MAGIC);
}

export function openDump(path: string): PhysMemory {
  let file: FileAccess;
  try {
    // Looked at before opening: a socket cannot be opened at all (ENXIO), and the refusal should name what it is.
    const st = statSync(path);
    if (!st.isFile()) throw notRegularFile(path, st, 'the path of a crash dump file');
    file = new FileAccess(path);
  } catch (e) {
    if (e instanceof LkstError) throw e;
    throw dumpError(`cannot open dump ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path and that you may read it');
  }
  return openDumpAccess(file, path);
}

/** The dump behind an open file (closed on failure); path only names it in messages. */
export function openDumpAccess(file: RandomAccess, path: string): PhysMemory {
  let access: RandomAccess = file;
  try {
    let head = file.read(0, 64);
    let flat = false;
    if (isFlattened(head)) {
      access = new FlatAccess(file);
      head = access.read(0, 64);
      flat = true;
    }
    if (isElf(head)) return new ElfDump(access);
    if (isKdump(head)) return new KdumpDump(access, flat ? 'kdump-flat' : 'kdump');
    if (head.subarray(0, 10).equals(TRACE_DAT_MAGIC)) throw dumpError(`${path} is a trace.dat, not a dump`, 'open it with lkst report');
    if (!flat && isRawShape(file, head)) {
      // An x86 machine's first MiB holds the BIOS data area and the kernel's real-mode trampoline:
      // all zeros there is no memory image, found before a scan of the whole file for VMCOREINFO.
      const low = file.read(0, LOW_MEMORY);
      if (low.equals(Buffer.alloc(LOW_MEMORY))) {
        throw dumpError(`${path} is not a dump lkst knows: no ELF or kdump header, and as a raw memory image its first MiB is all zeros`, 'give an ELF vmcore, a kdump-compressed dump or a raw image of a machine\'s memory');
      }
      return new RawImage(file);
    }
    throw dumpError(`${path} is not a dump lkst knows`, 'give an ELF vmcore, a kdump-compressed dump (makedumpfile, flattened or not) or a raw memory image');
  } catch (e) {
    access.close();
    throw e;
  }
}
