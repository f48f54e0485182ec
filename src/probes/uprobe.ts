/**
 * uprobe and uretprobe events: `uprobe:PATH:SYMBOL[+OFF]` / `uretprobe:PATH:SYMBOL`, with arguments as
 * words `NAME=FETCH[:TYPE]` in the kernel's fetch syntax (Documentation/trace/uprobetracer.rst).
 * A spec becomes one line of uprobe_events in lkst's own group (`lkst_PID`): dynamic events are
 * global, so lkst only ever removes events of its groups.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { LkstError } from '../base/errors.js';
import { type TracefsDir, tracefs } from '../tracefs/tracefs.js';
import { elfFunctions } from './elf-symbols.js';

export interface UprobeSpec {
  kind: 'uprobe' | 'uretprobe';
  /** The file as given (a path, or a library name like libc). */
  file: string;
  symbol: string;
  offset: number;
  /** NAME=FETCH[:TYPE] words; defaults when none are given. */
  args: string[];
}

const DEFAULT_ARGS: Record<UprobeSpec['kind'], string[]> = {
  uprobe: ['arg1=%di:s64', 'arg2=%si:s64', 'arg3=%dx:s64'],
  uretprobe: ['ret=$retval:s64'],
};

/** Parses `uprobe:PATH:SYMBOL[+OFF]` and its argument words. */
export function parseUprobe(spec: string, words: readonly string[] = []): UprobeSpec {
  const m = /^(uprobe|uretprobe):(.+):([A-Za-z_.$][\w.$@]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(spec);
  if (!m) throw new LkstError(`'${spec}' is not a uprobe`, 'write uprobe:PATH:SYMBOL[+OFFSET] or uretprobe:PATH:SYMBOL');
  const kind = m[1] as UprobeSpec['kind'];
  if (kind === 'uretprobe' && m[4]) throw new LkstError(`'${spec}': a uretprobe goes on a function's entry`, 'leave the +OFFSET out');
  for (const w of words) if (!/^[A-Za-z_]\w*=\S+$/.test(w)) throw new LkstError(`'${w}' is not a probe argument`, 'write NAME=FETCH[:TYPE], e.g. size=%di:u64 or s=+0(%si):string');
  return { kind, file: m[2]!, symbol: m[3]!, offset: m[4] ? Number(m[4]) : 0, args: words.length ? [...words] : DEFAULT_ARGS[kind] };
}

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

/** The event name lkst gives a probe: the symbol, made a tracefs name, with _ret for a return probe. */
export function probeEventName(s: UprobeSpec): string {
  const base = s.symbol.replace(/[^A-Za-z0-9_]/g, '_');
  return `${base}${s.offset ? `_${s.offset}` : ''}${s.kind === 'uretprobe' ? '_ret' : ''}`;
}

/** lkst's dynamic-event group of this process. */
export function probeGroup(pid = process.pid): string {
  return `lkst_${pid}`;
}

/** The uprobe_events line of a spec: the symbol resolved to its file offset. */
export function uprobeLine(s: UprobeSpec, group = probeGroup()): string {
  const path = findFile(s.file);
  const fn = elfFunctions(path).get(s.symbol);
  if (!fn) throw new LkstError(`${path} has no function '${s.symbol}'`, `list its functions with: lkst probe list ${path}`);
  if (s.offset && fn.size && s.offset >= fn.size) throw new LkstError(`+${s.offset} is past the end of ${s.symbol} (${fn.size} bytes)`, 'give an offset inside the function');
  const at = fn.fileOffset + BigInt(s.offset);
  return `${s.kind === 'uprobe' ? 'p' : 'r'}:${group}/${probeEventName(s)} ${path}:0x${at.toString(16)}${s.args.length ? ` ${s.args.join(' ')}` : ''}`;
}

/**
 * Creates a probe event; returns its system and event names (events/GROUP/NAME in every instance).
 * A definition the kernel refuses is one line with its reason from error_log.
 */
export function createUprobe(s: UprobeSpec, group = probeGroup(), top: TracefsDir = tracefs()): { system: string; event: string } {
  if (!top.has('uprobe_events')) throw new LkstError('this kernel has no uprobe events', 'use a kernel built with CONFIG_UPROBE_EVENTS=y');
  top.write('uprobe_events', `${uprobeLine(s, group)}\n`, { append: true });
  return { system: group, event: probeEventName(s) };
}

/**
 * Removes every probe of a group (lkst's own: never another tool's). Events still enabled in an
 * instance are refused by the kernel (EBUSY): disable them first.
 */
export function removeProbeGroup(group = probeGroup(), top: TracefsDir = tracefs()): number {
  if (!/^lkst_\d+$/.test(group)) throw new Error(`refusing to remove probe group '${group}': not lkst's`);
  if (!top.has('uprobe_events')) return 0;
  const mine = top
    .read('uprobe_events')
    .split('\n')
    .map((l) => /^[pr]:([^/\s]+)\/(\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === group);
  for (const m of mine) top.write('uprobe_events', `-:${m[1]}/${m[2]}\n`, { append: true });
  return mine.length;
}

/**
 * Removes the probe groups of lkst processes that are gone (a recorder killed with -9), keeping any
 * still hooked in an instance (the kernel refuses those: EBUSY) and every other tool's. Returns
 * what was removed and what stayed, one line each.
 */
export function removeDeadProbeGroups(alive: (pid: number) => boolean, top: TracefsDir = tracefs()): string[] {
  if (!top.has('uprobe_events')) return [];
  const groups = new Set<string>();
  for (const l of top.read('uprobe_events').split('\n')) {
    const m = /^[pr]:(lkst_(\d+))\//.exec(l);
    if (m && !alive(Number(m[2]))) groups.add(m[1]!);
  }
  const lines: string[] = [];
  for (const g of groups) {
    try {
      lines.push(`removed ${removeProbeGroup(g, top)} probe(s) of ${g} (its lkst is gone)`);
    } catch (err) {
      if (!(err instanceof LkstError)) throw err;
      lines.push(`kept probes of ${g}: ${err.what}`);
    }
  }
  return lines;
}
