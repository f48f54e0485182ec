import { closeSync, openSync, readSync } from 'node:fs';
import { hostname, machine, release, type, version } from 'node:os';
import { type TracefsDir, tracefs } from '../tracefs/tracefs.js';
import type { Instance } from '../tracefs/instance.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { masksetIn } from '../masksets/state.js';

const READ_BYTES = 1 << 20;

/**
 * Reads a large /proc file in 1 MiB reads. readFileSync sees size 0 and reads in small chunks, and
 * each read of /proc/kallsyms costs a walk of the symbol table: 2x the time of the whole recording
 * overhead on a storm.
 */
export function readProcFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    // Reads straight into one growing buffer: a copy per read and a concatenation cost a third again.
    let buf = Buffer.allocUnsafe(8 << 20);
    let len = 0;
    for (;;) {
      if (buf.length - len < READ_BYTES) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = readSync(fd, buf, len, READ_BYTES, null);
      if (n <= 0) break;
      len += n;
    }
    // Symbol names and format strings are ASCII: latin1 skips the UTF-8 decoder's checks.
    return buf.toString('latin1', 0, len);
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

/** uname(2)'s fields as `uname -a` prints them, without running it (a process costs more than the rest of the metadata). */
function unameLine(): string {
  return [type(), hostname(), release(), version(), machine()].join(' ');
}

/** The ftrace system's own event formats (print, bprint, ...), needed to read markers. */
export function ftraceFormats(top: TracefsDir = tracefs()): string[] {
  const out: string[] = [];
  for (const ev of top.list('events/ftrace')) {
    if (top.has(`events/ftrace/${ev}/format`)) out.push(top.read(`events/ftrace/${ev}/format`));
  }
  return out;
}

/** Format texts of the given events, grouped by system. */
export function eventFormatTexts(events: { system: string; event: string }[], top: TracefsDir = tracefs()): TraceMeta['eventFormats'] {
  const bySystem = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const { system, event } of events) {
    const key = `${system}:${event}`;
    if (seen.has(key) || system === 'ftrace') continue;
    seen.add(key);
    const list = bySystem.get(system) ?? [];
    list.push(top.read(`events/${system}/${event}/format`));
    bySystem.set(system, list);
  }
  return [...bySystem].map(([system, formats]) => ({ system, formats }));
}

/** The kernel's saved_cmdlines now ("pid comm" lines). */
export function savedCmdlines(top: TracefsDir = tracefs()): string {
  return top.has('saved_cmdlines') ? top.read('saved_cmdlines') : '';
}

/** What a trace file needs that does not change while recording (formats, clock, machine): a recording's journal keeps it from the start. */
export function collectFixedMeta(inst: Instance, events: { system: string; event: string }[], pageSize: number): Omit<TraceMeta, 'kallsyms' | 'cmdlines' | 'cpuStats'> {
  const top = tracefs();
  const cpus = inst.cpus();
  const maskset = masksetIn(inst.name);
  return {
    headerPage: top.read('events/header_page'),
    headerEvent: top.read('events/header_event'),
    ftraceFormats: ftraceFormats(top),
    eventFormats: eventFormatTexts(events, top),
    printk: top.has('printk_formats') ? top.read('printk_formats') : '',
    clock: inst.clock,
    pageSize,
    cpuCount: cpus.length ? Math.max(...cpus) + 1 : 1,
    uname: unameLine(),
    hostname: hostname(),
    instance: inst.name,
    ...(maskset ? { maskset } : {}),
  };
}

/**
 * Everything a trace file needs besides the pages, read from the live kernel at the end of a
 * recording. lazyKallsyms: /proc/kallsyms is read when first asked for (a live consumer may never).
 * fixed: what the recording's journal already read at its start. kallsymsFile: a copy of
 * /proc/kallsyms (the pump's) the writer takes instead of the text.
 */
export function collectLiveMeta(inst: Instance, events: { system: string; event: string }[], pageSize: number, opts: { lazyKallsyms?: boolean; fixed?: ReturnType<typeof collectFixedMeta>; kallsymsFile?: string } = {}): TraceMeta {
  const fixed = opts.fixed ?? collectFixedMeta(inst, events, pageSize);
  const cpuStats: (string | undefined)[] = new Array(fixed.cpuCount).fill(undefined);
  for (const c of inst.cpus()) if (inst.has(`per_cpu/cpu${c}/stats`)) cpuStats[c] = inst.read(`per_cpu/cpu${c}/stats`);
  const meta: TraceMeta = {
    ...fixed,
    kallsyms: opts.lazyKallsyms || opts.kallsymsFile ? '' : readProcFile('/proc/kallsyms'),
    ...(opts.kallsymsFile ? { kallsymsFile: opts.kallsymsFile } : {}),
    cmdlines: savedCmdlines(),
    cpuStats,
  };
  if (opts.lazyKallsyms) {
    let text: string | undefined;
    Object.defineProperty(meta, 'kallsyms', { enumerable: true, get: () => (text ??= readProcFile('/proc/kallsyms')) });
  }
  return meta;
}
