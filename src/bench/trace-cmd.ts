import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The trace-cmd to compare with. `trace-cmd record` dies on kernels that refuse the function-tracer
 * files; a wrapper that works around that (trace-cmd-here, beside the project in shared/tools) is
 * preferred when present. LKST_TRACE_CMD overrides.
 */
export function traceCmdRecorder(): string | undefined {
  if (process.env.LKST_TRACE_CMD) return process.env.LKST_TRACE_CMD;
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/bench -> repository -> its parent
  for (const up of ['../../../..', '../../..']) {
    const p = resolve(here, up, 'shared/tools/trace-cmd-here');
    if (existsSync(p)) return p;
  }
  return which('trace-cmd');
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
