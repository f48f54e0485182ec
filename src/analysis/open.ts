/** Opens a trace file as analysis input (kallsyms for symbol names, saved cmdlines for task names). */
import { openTraceDat, type TraceFile } from '../file/reader.js';
import type { TraceInput } from './input.js';
import { isDumpFile } from '../crash/open.js';
import { dumpToTraceDat } from '../crash/command.js';

export interface OpenedTrace extends TraceInput {
  file: TraceFile;
  close(): void;
}

export function openTrace(path: string): OpenedTrace {
  const file = openTraceDat(path);
  return {
    file,
    registry: file.registry,
    cpus: file.cpus,
    get cmdlines() {
      return file.cmdlines;
    },
    symbolize: (addr) => {
      const hit = file.kallsyms.lookup(addr);
      if (!hit || hit.offset > 0x100000n) return undefined;
      return hit.offset ? `${hit.name}+0x${hit.offset.toString(16)}` : hit.name;
    },
    warnings: file.warnings,
    clock: file.meta.clock,
    close: () => file.close(),
  };
}

/**
 * Runs fn on the opened trace and closes it afterwards. A crash dump (ELF vmcore, kdump) is
 * recovered into a temporary trace.dat first, so every analysis works on dumps directly.
 */
export async function withTrace<T>(path: string, fn: (t: OpenedTrace) => T | Promise<T>): Promise<T> {
  if (isDumpFile(path)) {
    const d = await dumpToTraceDat(path);
    try {
      return await withTrace(d.path, fn);
    } finally {
      d.cleanup();
    }
  }
  const t = openTrace(path);
  try {
    return await fn(t);
  } finally {
    t.close();
  }
}
