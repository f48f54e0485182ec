import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { type TracefsDir, tracefs } from '../tracefs/tracefs.js';
import type { Instance } from '../tracefs/instance.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { masksetIn } from '../masksets/state.js';

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

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
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

function unameLine(): string {
  try {
    return execFileSync('uname', ['-a'], { encoding: 'utf8' }).trim();
  } catch {
    return readOr('/proc/version').trim();
  }
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
 * fixed: what the recording's journal already read at its start.
 */
export function collectLiveMeta(inst: Instance, events: { system: string; event: string }[], pageSize: number, opts: { lazyKallsyms?: boolean; fixed?: ReturnType<typeof collectFixedMeta> } = {}): TraceMeta {
  const fixed = opts.fixed ?? collectFixedMeta(inst, events, pageSize);
  const cpuStats: (string | undefined)[] = new Array(fixed.cpuCount).fill(undefined);
  for (const c of inst.cpus()) if (inst.has(`per_cpu/cpu${c}/stats`)) cpuStats[c] = inst.read(`per_cpu/cpu${c}/stats`);
  const meta: TraceMeta = {
    ...fixed,
    kallsyms: opts.lazyKallsyms ? '' : readProcFile('/proc/kallsyms'),
    cmdlines: savedCmdlines(),
    cpuStats,
  };
  if (opts.lazyKallsyms) {
    let text: string | undefined;
    Object.defineProperty(meta, 'kallsyms', { enumerable: true, get: () => (text ??= readProcFile('/proc/kallsyms')) });
  }
  return meta;
}
