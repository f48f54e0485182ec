import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LkstError } from '../base/errors.js';

/** The tasks set_event_pid lets through; follow: their children forked later too (options/event-fork). */
export interface PidSet {
  readonly pids: readonly number[];
  readonly follow: boolean;
}

/** What a recording is narrowed to: given processes, or the command it runs (with its children). */
export type RecordScope = { readonly kind: 'pids'; readonly processes: readonly number[]; readonly follow: boolean } | { readonly kind: 'command' };

/** Every thread of a process: set_event_pid takes task ids, and each thread is a task of its own. */
export function processThreads(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    throw new LkstError(`no process ${pid}`, 'give the pid of a running process (ps -e lists them)');
  }
  return tasks.map(Number).filter((n) => n > 0);
}

/** The task ids to give the kernel for -P: each process's threads as they are now. */
export function scopePids(processes: readonly number[], follow: boolean): PidSet {
  const pids = new Set<number>();
  for (const p of processes) for (const t of processThreads(p)) pids.add(t);
  return { pids: [...pids], follow };
}

/** Refuses a command that cannot run before the recording starts (a held command would only exit 127). */
export function checkRunnable(cmd: string): void {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter);
  for (const d of dirs) {
    try {
      accessSync(d ? join(d, cmd) : cmd, constants.X_OK);
      return;
    } catch {
      /* next */
    }
  }
  throw new LkstError(`cannot run ${cmd} (not found or not executable)`, 'check the command name and PATH');
}
