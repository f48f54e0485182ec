/**
 * Probe specs as lkst takes them in -e, maskset lines and report -e: a kind, a target and
 * argument words. Pure parsing and naming; making them is dynamic.ts's (and tracer.ts's) job.
 *   uprobe:PATH|LIB:SYM[+OFF]  uretprobe:PATH|LIB:SYM     (uprobetracer.rst)
 *   kprobe:[MOD:]SYM[+OFF]     kretprobe:[MOD:]SYM        (kprobetrace.rst; MOD: a module, loaded or not yet)
 *   fprobe:SYM                 fprobe:SYM%return          (fprobetrace.rst; BTF names the arguments)
 *   eprobe:SYSTEM/EVENT                                   (eprobetrace.rst)
 *   function:GLOB              function_graph:GLOB        (the function tracer in the recording's instance)
 */
import { LkstError } from '../base/errors.js';

export type ProbeKind = 'uprobe' | 'uretprobe' | 'kprobe' | 'kretprobe' | 'fprobe' | 'fretprobe' | 'eprobe' | 'function' | 'function_graph';

export interface ProbeSpec {
  kind: ProbeKind;
  /** A function symbol; SYSTEM/EVENT for an eprobe; a glob for the function tracers. */
  target: string;
  /** uprobes: the file as given (a path, or a library name like libc). */
  file?: string;
  /** kprobes: the module the symbol is in, as the kernel's MOD:SYM names it (it may load later). */
  module?: string;
  offset: number;
  /** Argument words in the kernel's fetch syntax; defaults filled in when none are given. */
  args: string[];
}

const SPEC_RE = /^(uprobe|uretprobe|kprobe|kretprobe|fprobe|eprobe|function|function_graph):/;

/** Whether an event name is a probe spec (its first word, in a maskset line or -e). */
export function isProbeSpec(name: string): boolean {
  return SPEC_RE.test(name.trim());
}

const SYM = '[A-Za-z_.$][\\w.$@]*';
const OFF = '(?:\\+(0x[0-9a-fA-F]+|\\d+))?';

const DEFAULT_ARGS: Partial<Record<ProbeKind, string[]>> = {
  uprobe: ['arg1=%di:s64', 'arg2=%si:s64', 'arg3=%dx:s64'],
  uretprobe: ['ret=$retval:s64'],
  kretprobe: ['ret=$retval:s64'],
  // With BTF the kernel expands $arg* to every argument, named and typed.
  fprobe: ['$arg*'],
  fretprobe: ['ret=$retval'],
};

const USAGE: Record<string, string> = {
  uprobe: 'write uprobe:PATH:SYMBOL[+OFFSET] or uretprobe:PATH:SYMBOL',
  kprobe: 'write kprobe:[MODULE:]SYMBOL[+OFFSET] or kretprobe:[MODULE:]SYMBOL',
  fprobe: 'write fprobe:SYMBOL or fprobe:SYMBOL%return',
  eprobe: 'write eprobe:SYSTEM/EVENT, e.g. eprobe:sched/sched_switch',
  function: "write function:GLOB or function_graph:GLOB, e.g. function:'vfs_*'",
};

/** Parses a spec and its argument words (a -e's words after the first, or a maskset line's). */
export function parseProbe(spec: string, words: readonly string[] = []): ProbeSpec {
  const head = SPEC_RE.exec(spec)?.[1];
  if (!head) throw new LkstError(`'${spec}' is not a probe`, 'start it with uprobe:, uretprobe:, kprobe:, kretprobe:, fprobe:, eprobe:, function: or function_graph:');
  const family = head.replace(/^uret/, 'u').replace(/^kret/, 'k').replace('function_graph', 'function');
  const bad = (): never => {
    throw new LkstError(`'${spec}' is not a${head === 'eprobe' ? 'n' : ''} ${head}`, USAGE[family]!);
  };
  const s = ((): ProbeSpec => {
    if (family === 'uprobe') {
      const m = new RegExp(`^${head}:(.+):(${SYM})${OFF}$`).exec(spec) ?? bad();
      if (head === 'uretprobe' && m[3]) throw new LkstError(`'${spec}': a uretprobe goes on a function's entry`, 'leave the +OFFSET out');
      return { kind: head as ProbeKind, file: m[1]!, target: m[2]!, offset: m[3] ? Number(m[3]) : 0, args: [] };
    }
    if (family === 'kprobe') {
      const m = new RegExp(`^${head}:(?:(\\w+):)?(${SYM})${OFF}$`).exec(spec) ?? bad();
      if (head === 'kretprobe' && m[3]) throw new LkstError(`'${spec}': a kretprobe goes on a function's entry`, 'leave the +OFFSET out');
      return { kind: head as ProbeKind, ...(m[1] ? { module: m[1] } : {}), target: m[2]!, offset: m[3] ? Number(m[3]) : 0, args: [] };
    }
    if (family === 'fprobe') {
      const m = new RegExp(`^fprobe:(${SYM})(%return)?$`).exec(spec) ?? bad();
      return { kind: m[2] ? 'fretprobe' : 'fprobe', target: m[1]!, offset: 0, args: [] };
    }
    if (family === 'eprobe') {
      const m = /^eprobe:(\w+)[/:](\w+)$/.exec(spec) ?? bad();
      return { kind: 'eprobe', target: `${m[1]}/${m[2]}`, offset: 0, args: [] };
    }
    const m = /^(function|function_graph):(\S+)$/.exec(spec) ?? bad();
    if (words.length) throw new LkstError(`'${spec}' takes no arguments (the function tracers record each call's address and its caller)`, 'leave the words after it out');
    return { kind: m[1] as ProbeKind, target: m[2]!, offset: 0, args: [] };
  })();
  // uprobes read registers only (no BTF): each argument needs its name; the kernel's probes also
  // take $arg* and bare BTF argument names.
  const argRe = family === 'uprobe' ? /^[A-Za-z_]\w*=\S+$/ : /^(?:[A-Za-z_]\w*=\S+|\$arg\*|[A-Za-z_]\w*)$/;
  for (const w of words) if (!argRe.test(w)) throw new LkstError(`'${w}' is not a probe argument`, 'write NAME=FETCH[:TYPE], e.g. size=%di:u64 or s=+0(%si):string');
  s.args = words.length ? [...words] : (DEFAULT_ARGS[s.kind] ?? []);
  return s;
}

/** A spec and its arguments from one string, as a -e or a maskset's event gives it. */
export function parseProbeText(text: string): ProbeSpec {
  const [spec, ...args] = text.trim().split(/\s+/);
  return parseProbe(spec!, args);
}

/**
 * The event name lkst gives a probe: its symbol made a tracefs name, `_OFF` for an offset, `_ret` for
 * a return probe; fprobes the kernel's own `__entry`/`__exit`; an eprobe its event's name.
 */
export function probeEventName(s: ProbeSpec): string {
  const base = (s.kind === 'eprobe' ? s.target.split('/')[1]! : s.target).replace(/[^A-Za-z0-9_]/g, '_');
  if (s.kind === 'fprobe') return `${base}__entry`;
  if (s.kind === 'fretprobe') return `${base}__exit`;
  return `${base}${s.offset ? `_${s.offset}` : ''}${s.kind === 'uretprobe' || s.kind === 'kretprobe' ? '_ret' : ''}`;
}

/** lkst's dynamic-event group of a process. */
export function probeGroup(pid = process.pid): string {
  return `lkst_${pid}`;
}

/**
 * The system:event glob that finds a probe's events in a recording, whichever lkst made it (the
 * group has its pid): for report -e and the analyses.
 */
export function probeEventGlob(text: string): string {
  const s = parseProbeText(text);
  if (s.kind === 'function') return 'ftrace:function';
  if (s.kind === 'function_graph') return 'ftrace:funcgraph_*';
  return `lkst_*:${probeEventName(s)}`;
}

/** The function tracers: set on an instance, not dynamic events. */
export function isTracerKind(kind: ProbeKind): kind is 'function' | 'function_graph' {
  return kind === 'function' || kind === 'function_graph';
}
