import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { LkstError, errnoCode } from '../base/errors.js';
import { tracefs } from '../tracefs/tracefs.js';
import { join, resolve } from 'node:path';
import { projectRoot } from '../base/project-root.js';

/** Where the trace-cmd used for recording comes from. */
export interface TraceCmdFound {
  /** LKST_TRACE_CMD: the operator's choice, used as it is. */
  env?: string;
  /** trace-cmd-here beside the project (shared/tools): trace-cmd with a shim for the refused files. */
  wrapper?: string;
  /** trace-cmd on the PATH. */
  plain?: string;
}

/**
 * Why this kernel refuses what `trace-cmd record` opens even to record events only: its
 * function-tracer control files (set_ftrace_pid first; EPERM here). undefined: they open, or the
 * kernel has no function tracer at all (trace-cmd then leaves them alone).
 */
export function functionTracerRefusal(): string | undefined {
  const p = tracefs().path('set_ftrace_pid');
  if (!existsSync(p)) return undefined;
  try {
    closeSync(openSync(p, 'r'));
    return undefined;
  } catch (err) {
    return `the kernel refuses ${p} (${errnoCode(err) ?? String(err)})`;
  }
}

/**
 * The trace-cmd to record with, or an error saying why none can and how to get one: LKST_TRACE_CMD,
 * then the wrapper, then plain trace-cmd where the kernel lets it open the function-tracer files
 * (Debian's `trace-cmd record` dies with "Can't enable ftrace" where it cannot).
 */
export function chooseTraceCmd(found: TraceCmdFound, refusal: string | undefined): string {
  if (found.env) return found.env;
  if (found.wrapper) return found.wrapper;
  if (!found.plain) throw new LkstError('trace-cmd is not installed', 'apt-get install trace-cmd, or leave out the trace-cmd comparison');
  if (refusal) {
    throw new LkstError(
      `${found.plain} cannot record here: ${refusal}, and trace-cmd record opens the function-tracer files even for events ("Can't enable ftrace")`,
      'give a trace-cmd that records events without them in LKST_TRACE_CMD (e.g. a wrapper that LD_PRELOADs a shim answering set_ftrace_* as an idle kernel would), or compare on a kernel that allows the function tracer',
    );
  }
  return found.plain;
}

/** The trace-cmd to compare with (chooseTraceCmd on what this machine has); throws when none can record here. */
export function traceCmdRecorder(): string {
  // shared/tools beside the project, or in it
  const wrapper = ['..', '.'].map((up) => resolve(projectRoot(), up, 'shared/tools/trace-cmd-here')).find((p) => existsSync(p));
  const plain = which('trace-cmd');
  const env = process.env.LKST_TRACE_CMD;
  return chooseTraceCmd({ ...(env ? { env } : {}), ...(wrapper ? { wrapper } : {}), ...(plain ? { plain } : {}) }, env || wrapper ? undefined : functionTracerRefusal());
}

/** Plain trace-cmd for reading files (report needs no wrapper). */
export function traceCmdReader(): string | undefined {
  return which('trace-cmd');
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir || '.', cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface FileCpuStats {
  cpu: number;
  readEvents: number;
  overrun: number;
  droppedEvents: number;
  entries: number;
}

/** Parses the kernel's per-CPU buffer statistics stored in a trace.dat, as `trace-cmd report --stat` prints them. */
export function parseStatReport(text: string): FileCpuStats[] {
  const out: FileCpuStats[] = [];
  let cur: FileCpuStats | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z ]+):\s*(-?\d+)\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.trim();
    const v = Number(m[2]);
    if (key === 'CPU') out.push((cur = { cpu: v, readEvents: 0, overrun: 0, droppedEvents: 0, entries: 0 }));
    else if (!cur) continue;
    else if (key === 'read events') cur.readEvents = v;
    else if (key === 'overrun') cur.overrun = v;
    else if (key === 'dropped events') cur.droppedEvents = v;
    else if (key === 'entries') cur.entries = v;
  }
  return out;
}

/** The per-CPU statistics a trace.dat holds (lkst's or trace-cmd's), read by trace-cmd itself. */
export function fileCpuStats(file: string): FileCpuStats[] {
  const tc = traceCmdReader();
  if (!tc) return [];
  const text = execFileSync(tc, ['report', '--stat', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 << 20 });
  return parseStatReport(text);
}
