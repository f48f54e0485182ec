// What every dump format offers: physical memory by address, plus the notes it carried.

export interface PhysMemory {
  /** 'elf' | 'kdump' | 'kdump-flat' | 'raw' */
  readonly format: string;
  /** VMCOREINFO text if the dump carries it outside memory (ELF note, kdump sub-header). */
  readonly vmcoreinfo?: string;
  /** Highest physical address + 1 the dump describes. */
  readonly maxAddress: number;
  /**
   * Reads len bytes at a physical address, or undefined when any of them is not in the dump
   * (why: 'filtered', 'not in dump', 'truncated').
   */
  read(paddr: number, len: number): Buffer | undefined;
  /** Fills buf from paddr into memory the caller reuses; false as read() gives undefined. Long scans use it when there. */
  readInto?(paddr: number, buf: Buffer): boolean;
  /**
   * Makes the pages at these addresses (len bytes each, in the order they will be read) ready for
   * the whole-page reads that follow, in one read of the file (dumps that decompress pages and keep
   * them); a hint, never an error.
   */
  prefetch?(paddrs: readonly number[], len: number): void;
  /** Why the last read() returned undefined. */
  readonly lastMiss: string;
  /** Physical ranges present, for memory scans. */
  ranges(): Array<[start: number, end: number]>;
  close(): void;
}
