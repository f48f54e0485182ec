import { closeSync, constants, openSync, readSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Instance } from '../../src/tracefs/instance.js';
import type { TraceMeta } from '../../src/ringbuf/meta.js';
import { collectLiveMeta } from '../../src/record/live-meta.js';
import { withInstance } from './instance.js';

export const SAMPLE_EVENTS = ['sched:sched_switch', 'sched:sched_waking', 'irq:*', 'timer:*', 'raw_syscalls:*', 'kmem:kmalloc', 'ftrace:print'];

export interface Capture {
  meta: TraceMeta;
  /** Each CPU's raw pages as trace_pipe_raw gave them. */
  cpus: { cpu: number; source: Buffer }[];
}

/** Enables "system:event" or "system:*" in inst; returns the tracepoints enabled. */
export function enableEvents(inst: Instance, names: string[]): { system: string; event: string }[] {
  const out: { system: string; event: string }[] = [];
  for (const name of names) {
    const [system, event] = name.split(':') as [string, string];
    if (system === 'ftrace') continue; // always on: markers land in ftrace:print
    const evs = event === '*' ? inst.list(`events/${system}`).filter((e) => inst.has(`events/${system}/${e}/enable`)) : [event];
    for (const e of evs) {
      inst.setEventEnabled(system, e, true);
      out.push({ system, event: e });
    }
  }
  return out;
}

/** Reads every page a CPU's trace_pipe_raw has now (non-blocking, one page per read). */
export function drainRawPipe(path: string, pageSize: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const pages: Buffer[] = [];
  try {
    for (;;) {
      const page = Buffer.alloc(pageSize);
      let n: number;
      try {
        n = readSync(fd, page, 0, pageSize, null);
      } catch (err) {
        if ((err as { code?: string }).code === 'EAGAIN') break;
        throw err;
      }
      if (n <= 0) break;
      pages.push(page);
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(pages);
}

/** Default workload: a few processes doing syscalls and sleeping (timers, wakeups, kmalloc). */
export function sampleWorkload(inst: Instance): void {
  inst.mark('lkst capture start');
  spawnSync('sh', ['-c', 'for i in 1 2 3 4 5; do cat /proc/self/stat >/dev/null; ls /proc >/dev/null; sleep 0.01; done']);
  inst.mark('lkst capture end');
}

/** Traces the real kernel in a private instance while workload runs, and returns the metadata and pages. */
export async function capture(opts: { events?: string[]; workload?: (inst: Instance) => void; bufferKb?: number; subbufKb?: number } = {}): Promise<Capture> {
  return withInstance('capture', (inst) => {
    if (opts.subbufKb) inst.subbufSizeKb = opts.subbufKb;
    if (opts.bufferKb) inst.bufferSizeKb = opts.bufferKb;
    const tps = enableEvents(inst, opts.events ?? SAMPLE_EVENTS);
    inst.tracingOn = true;
    (opts.workload ?? sampleWorkload)(inst);
    inst.tracingOn = false;
    const pageSize = (inst.subbufSizeKb ?? 4) * 1024;
    const meta = collectLiveMeta(inst, tps, pageSize);
    const cpus = inst.cpus().map((cpu) => ({ cpu, source: drainRawPipe(inst.rawPipePath(cpu), pageSize) }));
    return { meta, cpus };
  });
}
