// Opens a dump of any supported format: ELF vmcore, kdump-compressed (plain or flattened), raw image.
import { ElfDump, isElf } from './elf.js';
import { dumpError } from './errors.js';
import { FileAccess, type RandomAccess } from './file-io.js';
import { FlatAccess, isFlattened } from './flat.js';
import { isKdump, KdumpDump } from './kdump.js';
import type { PhysMemory } from './physmem.js';
import { RawImage } from './raw.js';

export function openDump(path: string): PhysMemory {
  let file: FileAccess;
  try {
    file = new FileAccess(path);
  } catch (e) {
    throw dumpError(`cannot open dump ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path and that you may read it');
  }
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
    if (!flat && file.size >= 1 << 20 && file.size % 4096 === 0) return new RawImage(file);
    throw dumpError(`${path} is not a dump lkst knows`, 'give an ELF vmcore, a kdump-compressed dump (makedumpfile, flattened or not) or a raw memory image');
  } catch (e) {
    access.close();
    throw e;
  }
}
