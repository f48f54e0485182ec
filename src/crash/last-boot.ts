// `lkst recover --last-boot`: the previous boot's events, kept in a boot-persistent instance
// (Linux 6.12+: reserve_mem=SIZE:ALIGN:LABEL trace_instance=NAME@LABEL), read through tracefs into a
// trace.dat with trace-cmd 3.4's LAST_BOOT_INFO option and MODULES_FILE section. No dump needed.
import { existsSync, readFileSync } from 'node:fs';
import { LkstError } from '../base/errors.js';
import { dumpBuffer } from '../buffers/dump.js';
import { kernelDelta, parseLastBootInfo, placeModules, unplacedWarning } from '../file/last-boot.js';
import { writeTraceDat } from '../file/writer.js';
import { applyMaskset } from '../masksets/session.js';
import { collectLiveMeta } from '../record/live-meta.js';
import { Instance } from '../tracefs/instance.js';
import { tracefs } from '../tracefs/tracefs.js';

/** lkst's boot instance and its reserve_mem label (no "lkst-" prefix: lkst reset leaves it alone). */
export const BOOT_INSTANCE = 'lkst_boot';

/** Instances mapped on reserved memory at boot: the ones with a last_boot_info file. */
export function persistentInstances(): string[] {
  const t = tracefs();
  if (!t.has('instances')) return [];
  return t.list('instances').filter((n) => t.has(`instances/${n}/last_boot_info`)).sort();
}

/** The boot-persistent instance to read: the one named, lkst's, or the only one there is. */
export function bootInstance(name?: string): Instance {
  const all = persistentInstances();
  const pick = name ?? (all.includes(BOOT_INSTANCE) ? BOOT_INSTANCE : all.length === 1 ? all[0] : undefined);
  if (!pick) {
    if (!all.length) throw new LkstError('no boot-persistent trace instance in this boot (no instance has last_boot_info)', 'boot Linux 6.12+ with the parameters `lkst boot enable` prints');
    throw new LkstError(`several boot-persistent instances (${all.join(', ')})`, 'name one with --instance');
  }
  if (!all.includes(pick)) throw new LkstError(`instance ${pick} is not boot-persistent (no last_boot_info)`, all.length ? `boot-persistent here: ${all.join(', ')}` : 'boot with the parameters `lkst boot enable` prints');
  return new Instance(pick, tracefs().path(`instances/${pick}`));
}

export interface LastBootCpu {
  cpu: number;
  /** Entries the kernel counted in the buffer before it was read. */
  entries: number;
  /** Events written to the trace.dat. */
  events: number;
}

export interface LastBootResult {
  instance: string;
  /** last_boot_info as the kernel wrote it. */
  info: string;
  /** This boot's kernel addresses minus the previous boot's, when last_boot_info names it. */
  textDelta?: bigint;
  /** 6.15+: modules last_boot_info lists, and how many of them are loaded in this boot too (their code symbols moved). */
  modules?: number;
  placedModules?: number;
  cpus: LastBootCpu[];
  events: number;
  warnings: string[];
  path: string;
}

/**
 * Writes the persistent instance's events to output. Reading consumes them (trace_pipe_raw, as
 * trace-cmd extract does): the trace.dat is then the only copy.
 */
export async function recoverLastBoot(output: string, name?: string): Promise<LastBootResult> {
  const inst = bootInstance(name);
  const info = inst.read('last_boot_info');
  // Kernels after 6.12 say "# Current" once the buffer holds this boot's events (trace-cmd's check).
  if (info.startsWith('# Current')) throw currentError(inst);
  const before = heldPerCpu(inst);
  if (!before.some((c) => c.entries > 0)) throw new LkstError(`instance ${inst.name} holds no events of the previous boot`, 'start tracing in it with `lkst boot start` after each boot; a crash then leaves its events for the next boot');
  const warnings: string[] = [];
  if (inst.tracingOn) warnings.push(`tracing is on in ${inst.name}: events of this boot may follow the previous boot's (boot with ^traceoff, as lkst boot enable does)`);
  const parsed = parseLastBootInfo(`${inst.name}:${info}`);
  const modules = existsSync('/proc/modules') ? readFileSync('/proc/modules', 'utf8') : undefined;
  const base = {
    ...collectLiveMeta(inst, [], inst.subbufSizeKb ? inst.subbufSizeKb * 1024 : 4096),
    lastBootInfo: `${inst.name}:${info}`,
    ...(modules ? { modules } : {}),
  };
  const deltas = parsed && kernelDelta(parsed, base.kallsyms);
  if (!deltas) warnings.push(`last_boot_info of ${inst.name} says neither the text delta nor where the kernel was; kernel symbols of the previous boot are not shifted`);
  const places = parsed && placeModules(parsed, modules);
  const unplaced = places && unplacedWarning(places);
  if (unplaced) warnings.push(unplaced);
  const r = await dumpBuffer(inst, output, { writer: writeTraceDat, base });
  const cpus = before.map((b) => ({ ...b, events: r.captures.find((c) => c.cpu === b.cpu)?.events ?? 0 }));
  return { instance: inst.name, info, textDelta: deltas?.text, ...(parsed && !parsed.delta ? { modules: parsed.modules.size, placedModules: places!.shift.size } : {}), cpus, events: r.events, warnings, path: r.path };
}

/**
 * "# Current" with tracing off (^traceoff, not started) yet events held: 7.3.4 drops the last-boot
 * state and CPU 0's pages at boot when the instance's events are on the command line, and keeps the
 * later CPUs' previous-boot pages (src/crash/README.md).
 */
function currentError(inst: Instance): LkstError {
  const held = heldPerCpu(inst).filter((c) => c.entries > 0);
  if (inst.tracingOn || !held.length) return new LkstError(`instance ${inst.name} holds this boot's events, not the previous boot's`, 'nothing of the previous boot is left to recover');
  const where = held.map((c) => `cpu${c.cpu}: ${c.entries}`).join(', ');
  return new LkstError(
    `instance ${inst.name} has tracing off, yet its last_boot_info says "# Current" and it holds events (${where}): the kernel dropped the previous boot's state at boot, as 7.3 does when the instance's events are on the kernel command line`,
    'boot with the parameters `lkst boot enable` prints (no events on the command line) and enable them with `lkst boot start -m MASKSET` (src/crash/README.md); these events cannot be placed in either boot',
  );
}

/** Each CPU's entries the kernel counts in the instance now. */
function heldPerCpu(inst: Instance): Array<{ cpu: number; entries: number }> {
  return inst.cpus().map((c) => ({ cpu: c, entries: inst.cpuStats(c).entries }));
}

export function formatLastBoot(r: LastBootResult): string {
  const lines = [
    `last boot of instance ${r.instance}${r.textDelta !== undefined ? ` (kernel moved by ${r.textDelta} bytes since${r.modules !== undefined ? `; ${r.placedModules} of its ${r.modules} modules placed in this boot` : ''})` : ''}: ${r.events} events, written to ${r.path}`,
    ...r.cpus.map((c) => `  cpu${c.cpu}: ${c.events} events (the kernel held ${c.entries})`),
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
  return lines.join('\n');
}

/**
 * Turns tracing on in the boot-persistent instance for this boot, with the maskset's events (its
 * filters and triggers too) when one is named; without one, the events enabled there stay as they
 * are and at least one must be. Events of the previous boot still in it are refused unless discard:
 * recover them first (lkst recover --last-boot).
 */
export async function startBootTracing(opts: { instance?: string; discard?: boolean; maskset?: string } = {}): Promise<{ instance: string; discarded: number; events: number }> {
  const inst = bootInstance(opts.instance);
  const held = heldPerCpu(inst).reduce((n, c) => n + c.entries, 0);
  if (held && !inst.tracingOn && !opts.discard) {
    throw new LkstError(`instance ${inst.name} still holds ${held} events of the previous boot`, 'save them with `lkst recover --last-boot` first, or pass --discard');
  }
  if (held && opts.discard) inst.clear();
  if (opts.maskset) await applyMaskset(inst, opts.maskset, { skipMissing: true });
  const events = inst.enabledEvents().length;
  if (!events) throw new LkstError(`no event is enabled in instance ${inst.name}`, 'name the maskset to record: lkst boot start -m MASKSET');
  inst.tracingOn = true;
  // After tracing is on: a marker written to a stopped buffer is refused (EBADF).
  if (opts.maskset) inst.mark(`lkst: maskset ${opts.maskset}`);
  return { instance: inst.name, discarded: opts.discard ? held : 0, events };
}
