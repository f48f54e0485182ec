/**
 * What one could probe: a program's or library's functions (ELF symbols), or the kernel's (text
 * symbols of /proc/kallsyms, marked where available_filter_functions lists them: those the function
 * tracer and fprobes can hook). For `lkst probe list PATH|kernel [GLOB]`.
 */
import { readFileSync } from 'node:fs';
import { globToRegExp } from '../events/name-glob.js';
import { tracefs } from '../tracefs/tracefs.js';
import { elfFunctions } from './elf-symbols.js';
import { findFile } from './uprobe.js';

export interface ProbeTarget {
  name: string;
  address: bigint;
  /** Bytes (ELF symbols); undefined for the kernel's. */
  size?: number;
  /** Kernel: listed in available_filter_functions (undefined when that file cannot be read). */
  traceable?: boolean;
  /** Kernel: the module it belongs to, if any. */
  module?: string;
}

export function listProbeTargets(target: string, glob?: string): { file: string; targets: ProbeTarget[] } {
  const match = glob ? globToRegExp(glob) : undefined;
  if (target === 'kernel') {
    let traceable: Set<string> | undefined;
    try {
      traceable = new Set(tracefs().read('available_filter_functions').split('\n').map((l) => l.split(' ')[0]!));
    } catch {
      traceable = undefined;
    }
    const seen = new Set<string>();
    const targets: ProbeTarget[] = [];
    for (const line of readFileSync('/proc/kallsyms', 'latin1').split('\n')) {
      const m = /^([0-9a-f]+) ([tT]) (\S+)(?:\s+\[(\S+)\])?$/.exec(line);
      if (!m || (match && !match.test(m[3]!))) continue;
      // A name once per module: a module's static function may share a name with the kernel's.
      const key = `${m[3]} ${m[4] ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push({ name: m[3]!, address: BigInt(`0x${m[1]}`), traceable: traceable?.has(m[3]!), module: m[4] });
    }
    return { file: 'kernel', targets };
  }
  const file = findFile(target);
  const targets = [...elfFunctions(file).values()].filter((f) => !match || match.test(f.name)).map((f) => ({ name: f.name, address: f.address, size: f.size }));
  targets.sort((a, b) => a.name.localeCompare(b.name));
  return { file, targets };
}
