// A raw physical-memory image (QEMU memory-backend-file, /dev/mem copy): file offset = address.
import type { RandomAccess } from './file-io.js';
import type { PhysMemory } from './physmem.js';

export class RawImage implements PhysMemory {
  readonly format = 'raw';
  readonly maxAddress: number;
  lastMiss = '';
  constructor(private file: RandomAccess) {
    this.maxAddress = file.size;
  }
  read(paddr: number, len: number): Buffer | undefined {
    if (paddr + len > this.file.size) { this.lastMiss = 'beyond the image'; return undefined; }
    return this.file.read(paddr, len);
  }
  readInto(paddr: number, buf: Buffer): boolean {
    if (paddr + buf.length > this.file.size) { this.lastMiss = 'beyond the image'; return false; }
    if (!this.file.readInto) { this.file.read(paddr, buf.length).copy(buf); return true; }
    return this.file.readInto(paddr, buf) === buf.length;
  }
  ranges(): Array<[number, number]> {
    return [[0, this.file.size]];
  }
  close(): void {
    this.file.close();
  }
}
