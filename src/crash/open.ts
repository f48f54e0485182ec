// Opens a dump of any supported format and finds its VMCOREINFO.
import { ElfDump, isElf } from './elf.js';
import { dumpError } from './errors.js';
import { FileAccess } from './file-io.js';
import type { PhysMemory } from './physmem.js';

export function openDump(path: string): PhysMemory {
  let file: FileAccess;
  try {
    file = new FileAccess(path);
  } catch (e) {
    throw dumpError(`cannot open dump ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path and that you may read it');
  }
  try {
    const head = file.read(0, 64);
    if (isElf(head)) return new ElfDump(file);
    throw dumpError(`${path} is not a dump lkst knows`, 'give an ELF vmcore, a kdump-compressed dump (makedumpfile, flattened or not) or a raw memory image');
  } catch (e) {
    file.close();
    throw e;
  }
}
