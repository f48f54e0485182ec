import type { Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';

/** Which processes a buffer records: only some (pids), all but some (notPids), and their children with follow. */
export interface PidScope {
  pids: number[];
  notPids: number[];
  follow: boolean;
}

function writePidList(inst: Instance, file: string, pids: readonly number[]): void {
  if (!inst.has(file)) throw new LkstError(`this kernel has no ${file}`, 'use a kernel of 5.8 or later for per-process buffers');
  // One write of all pids; an empty list is a lone space with O_TRUNC, which clears it.
  inst.write(file, pids.length ? pids.join(' ') : ' ');
}

function readPidList(inst: Instance, file: string): number[] {
  if (!inst.has(file)) return [];
  return inst.read(file).split(/\s+/).filter(Boolean).map(Number);
}

export function setPidScope(inst: Instance, scope: Partial<PidScope>): void {
  for (const p of [...(scope.pids ?? []), ...(scope.notPids ?? [])]) {
    if (!Number.isInteger(p) || p <= 0) throw new LkstError(`bad process id ${p}`, 'give positive process ids');
  }
  if (scope.pids) writePidList(inst, 'set_event_pid', scope.pids);
  if (scope.notPids) writePidList(inst, 'set_event_notrace_pid', scope.notPids);
  // event-fork covers both lists: children of a listed process join its list.
  if (scope.follow !== undefined && inst.has('options/event-fork')) inst.write('options/event-fork', scope.follow ? '1' : '0');
}

export function pidScope(inst: Instance): PidScope {
  return {
    pids: readPidList(inst, 'set_event_pid'),
    notPids: readPidList(inst, 'set_event_notrace_pid'),
    follow: inst.has('options/event-fork') && inst.read('options/event-fork').trim() === '1',
  };
}
