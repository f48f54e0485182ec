/**
 * Probe specs made into dynamic events, each in lkst's group `lkst_PID`: dynamic events are global
 * (unlike instances), so lkst only ever removes events of its own groups, and `lkst reset` those of
 * lkst processes that are gone. A kernel without a probe type gets one line naming it.
 */
import { existsSync } from 'node:fs';
import { LkstError } from '../base/errors.js';
import { type TracefsDir, tracefs } from '../tracefs/tracefs.js';
import { listProbeTargets } from './list.js';
import { isTracerKind, type ProbeSpec, probeEventName, probeGroup } from './spec.js';
import { uprobeLocation } from './uprobe.js';

/** Which control file takes a probe's definition, and the kernel feature it needs. */
function definitionFile(s: ProbeSpec, top: TracefsDir): string {
  const readme = () => (top.has('README') ? top.read('README') : '');
  switch (s.kind) {
    case 'uprobe':
    case 'uretprobe':
      if (!top.has('uprobe_events')) throw new LkstError('this kernel has no uprobe events', 'use a kernel built with CONFIG_UPROBE_EVENTS=y');
      return 'uprobe_events';
    case 'kprobe':
    case 'kretprobe':
      if (!top.has('kprobe_events')) throw new LkstError('this kernel has no kprobe events', 'use a kernel built with CONFIG_KPROBE_EVENTS=y, or a uprobe or tracepoint here');
      return 'kprobe_events';
    case 'fprobe':
    case 'fretprobe':
      if (!top.has('dynamic_events') || !/^\s*f\[/m.test(readme())) throw new LkstError('this kernel has no fprobe events', 'use a kernel built with CONFIG_FPROBE_EVENTS=y (6.7+), or a kprobe');
      return 'dynamic_events';
    case 'eprobe':
      if (!top.has('dynamic_events') || !/^\s*e\[/m.test(readme())) throw new LkstError('this kernel has no event probes', 'use a kernel with eprobes (5.15+), or the event itself');
      return 'dynamic_events';
    default:
      throw new Error(`${s.kind} is a tracer, not a dynamic event`);
  }
}

/**
 * A kernel function a kprobe or fprobe can go on: in kallsyms, and for fprobes in
 * available_filter_functions. A kprobe on MOD:SYM of a module not loaded yet is the kernel's to
 * check: it makes the probe when the module loads.
 */
function checkKernelFunction(s: ProbeSpec): void {
  if (s.module && !existsSync(`/sys/module/${s.module}`)) return;
  const t = listProbeTargets('kernel', s.target).targets.find((x) => x.name === s.target && (!s.module || x.module === s.module));
  const where = s.module ? `module ${s.module} has` : 'kernel has';
  if (!t) throw new LkstError(`the ${where} no function '${s.target}'`, `list them with: lkst probe list kernel '${s.target.slice(0, 4)}*'`);
  if ((s.kind === 'fprobe' || s.kind === 'fretprobe') && t.traceable === false) {
    throw new LkstError(`${s.target} cannot take an fprobe (not in available_filter_functions: notrace or inlined)`, 'use a kprobe on it');
  }
}

/** The definition line of a probe (Documentation/trace/{uprobe,kprobe,fprobe,eprobe}trace.rst). */
export function probeLine(s: ProbeSpec, group = probeGroup()): string {
  const ev = `${group}/${probeEventName(s)}`;
  const args = s.args.length ? ` ${s.args.join(' ')}` : '';
  switch (s.kind) {
    case 'uprobe':
    case 'uretprobe':
      return `${s.kind === 'uprobe' ? 'p' : 'r'}:${ev} ${uprobeLocation(s)}${args}`;
    case 'kprobe':
    case 'kretprobe':
      return `${s.kind === 'kprobe' ? 'p' : 'r'}:${ev} ${s.module ? `${s.module}:` : ''}${s.target}${s.offset ? `+${s.offset}` : ''}${args}`;
    case 'fprobe':
    case 'fretprobe':
      return `f:${ev} ${s.target}${s.kind === 'fretprobe' ? '%return' : ''}${args}`;
    case 'eprobe':
      return `e:${ev} ${s.target.replace('/', '.')}${args}`;
    default:
      throw new Error(`${s.kind} is a tracer, not a dynamic event`);
  }
}

/**
 * Makes a probe event; returns its system and event names (events/GROUP/NAME in every instance).
 * A definition the kernel refuses is one line with its reason from error_log.
 */
export function createProbe(s: ProbeSpec, group = probeGroup(), top: TracefsDir = tracefs()): { system: string; event: string } {
  if (isTracerKind(s.kind)) throw new Error(`${s.kind} is a tracer, not a dynamic event`);
  const file = definitionFile(s, top);
  if (s.kind.startsWith('k') || s.kind.startsWith('f')) checkKernelFunction(s);
  if (s.kind === 'eprobe' && !top.has(`events/${s.target}`)) throw new LkstError(`the kernel has no event ${s.target.replace('/', ':')}`, 'see `lkst events` for what it has');
  const line = probeLine(s, group);
  try {
    top.write(file, `${line}\n`, { append: true });
  } catch (err) {
    if (!(err instanceof LkstError)) throw err;
    // This VM describes eprobes in its README and refuses every one: say so, not "EINVAL".
    if (s.kind === 'eprobe' && !eprobesWork(group, top)) throw new LkstError('this kernel refuses event probes (even one on sched:sched_switch with no arguments)', 'use the event itself, or a kernel that allows eprobes');
    throw new LkstError(err.what, 'check the spec and its arguments (docs/probes.md)');
  }
  return { system: group, event: probeEventName(s) };
}

function eprobesWork(group: string, top: TracefsDir): boolean {
  const name = `${group}/lkst_eprobe_check`;
  try {
    top.write('dynamic_events', `e:${name} sched.sched_switch\n`, { append: true });
  } catch {
    return false;
  }
  top.write('dynamic_events', `-:${name}\n`, { append: true });
  return true;
}

/** Every definition file that lists probes: dynamic_events lists them all where the kernel has it. */
function probeDefinitions(top: TracefsDir): { file: string; lines: string[] } {
  const file = top.has('dynamic_events') ? 'dynamic_events' : top.has('uprobe_events') ? 'uprobe_events' : undefined;
  return file ? { file, lines: top.read(file).split('\n') } : { file: '', lines: [] };
}

/**
 * Removes every probe of a group (lkst's own: never another tool's). Events still enabled in an
 * instance are refused by the kernel (EBUSY): disable them first.
 */
export function removeProbeGroup(group = probeGroup(), top: TracefsDir = tracefs()): number {
  if (!/^lkst_\d+$/.test(group)) throw new Error(`refusing to remove probe group '${group}': not lkst's`);
  const { file, lines } = probeDefinitions(top);
  const mine = lines.map((l) => /^[a-z]\d*:([^/\s]+)\/(\S+)/.exec(l)).filter((m): m is RegExpExecArray => m !== null && m[1] === group);
  // Event probes first: the kernel refuses removing an event another probe is attached to.
  mine.sort((a, b) => Number(b[0].startsWith('e:')) - Number(a[0].startsWith('e:')));
  for (const m of mine) top.write(file, `-:${m[1]}/${m[2]}\n`, { append: true });
  return mine.length;
}

/**
 * Removes the probe groups of lkst processes that are gone (a recorder killed with -9), keeping any
 * still hooked in an instance (the kernel refuses those: EBUSY) and every other tool's. Returns
 * what was removed and what stayed, one line each.
 */
export function removeDeadProbeGroups(alive: (pid: number) => boolean, top: TracefsDir = tracefs()): string[] {
  const groups = new Set<string>();
  for (const l of probeDefinitions(top).lines) {
    const m = /^[a-z]\d*:(lkst_(\d+))\//.exec(l);
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
