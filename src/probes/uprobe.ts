/**
 * Where a uprobe goes: `uprobe:PATH|LIB:SYMBOL[+OFF]` resolved to the PATH:0xOFFSET uprobe_events
 * takes (Documentation/trace/uprobetracer.rst), the symbol's offset in its file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { LkstError } from '../base/errors.js';
import { elfFunctions } from './elf-symbols.js';
import type { ProbeSpec } from './spec.js';

/** A library named without a path (libc, libssl.so.3) found through the dynamic linker's cache. */
export function findFile(file: string): string {
  if (file.includes('/')) {
    if (!existsSync(file)) throw new LkstError(`${file} does not exist`, 'give the path of a program or library');
    return realpathSync(file);
  }
  let cache = '';
  try {
    cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    /* no ldconfig: only paths work */
  }
  const base = file.startsWith('lib') ? file : `lib${file}`;
  const hit = cache
    .split('\n')
    .map((l) => /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(l))
    .find((x) => x !== null && (x[1] === base || x[1]!.startsWith(`${base}.so`)) && /x86-64/.test(x[2]!));
  if (!hit) throw new LkstError(`no library '${file}' in the dynamic linker's cache`, 'give its path, e.g. uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc');
  return realpathSync(hit[3]!);
}

/** PATH:0xOFFSET of a uprobe spec: its symbol (plus offset) as an offset in the file. */
export function uprobeLocation(s: ProbeSpec): string {
  const path = findFile(s.file!);
  const fn = elfFunctions(path).get(s.target);
  if (!fn) throw new LkstError(`${path} has no function '${s.target}'`, `list its functions with: lkst probe list ${path}`);
  if (s.offset && fn.size && s.offset >= fn.size) throw new LkstError(`+${s.offset} is past the end of ${s.target} (${fn.size} bytes)`, 'give an offset inside the function');
  return `${path}:0x${(fn.fileOffset + BigInt(s.offset)).toString(16)}`;
}
