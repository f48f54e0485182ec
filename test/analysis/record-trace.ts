/** Records the real kernel into a trace.dat while a command runs (for tests of the analyses). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from '../../src/record/recorder.js';
import type { Instance } from '../../src/tracefs/instance.js';
import { writeTraceDat } from '../../src/file/writer.js';

export interface RecordedTrace {
  path: string;
  dir: string;
  /** The command's exit code (null: killed by a signal). */
  exitCode?: number | null;
  cleanup(): void;
}

export const ANALYSIS_EVENTS = [
  'sched:sched_switch',
  'sched:sched_waking',
  'sched:sched_wakeup',
  'sched:sched_wakeup_new',
  'sched:sched_process_fork',
  'sched:sched_process_exec',
  'sched:sched_process_exit',
  'raw_syscalls:sys_enter',
  'raw_syscalls:sys_exit',
  'irq:irq_handler_entry',
  'irq:irq_handler_exit',
  'irq:softirq_entry',
  'irq:softirq_exit',
  'timer:timer_init',
  'timer:timer_start',
  'timer:timer_expire_entry',
  'timer:timer_expire_exit',
  'timer:timer_cancel',
  'timer:hrtimer_setup',
  'timer:hrtimer_start',
  'timer:hrtimer_expire_entry',
  'timer:hrtimer_expire_exit',
  'timer:hrtimer_cancel',
  'kmem:kmalloc',
  'kmem:kfree',
  'kmem:kmem_cache_alloc',
  'kmem:kmem_cache_free',
];

/** Traces `events` (system:event) while `command` runs; the file lands in a fresh temp dir. */
export async function recordTrace(command: string[], events: string[] = ANALYSIS_EVENTS, opts: { bufferKb?: number; onInstance?: (inst: Instance) => void } = {}): Promise<RecordedTrace> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-analysis-'));
  const path = join(dir, 'trace.dat');
  const refs = events.map((e) => {
    const [system, event] = e.split(':') as [string, string];
    return { system, event };
  });
  const setup = (inst: Instance) => {
    for (const r of refs) inst.setEventEnabled(r.system, r.event, true);
    opts.onInstance?.(inst);
    return refs;
  };
  const res = await record({ events: refs, workDir: dir, command, bufferKbPerCpu: opts.bufferKb ?? 8192, pollMs: 50, setup });
  try {
    await writeTraceDat(path, res.meta, res.cpus);
  } finally {
    res.discard();
  }
  return { path, dir, exitCode: res.commandExitCode, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A shell workload whose pid is known: it writes $$ to pidFile, then sleeps and does syscalls. */
export function sleeperScript(pidFile: string, sleeps = 5, sleepSec = 0.05): string[] {
  return ['sh', '-c', `echo $$ > ${pidFile}; i=0; while [ $i -lt ${sleeps} ]; do cat /proc/self/stat > /dev/null; sleep ${sleepSec}; i=$((i+1)); done`];
}
