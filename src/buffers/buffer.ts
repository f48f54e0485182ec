import { Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { dropOwner, recordOwner } from '../base/owner.js';
import { BUFFER_PREFIX, bufferInstanceName, bufferNameOf, checkBufferName, openBufferOrInstance } from './name.js';
import { setPidScope, type PidScope } from './pids.js';

export interface CreateBufferOptions {
  /** Ring-buffer size per CPU in KiB. */
  sizeKb?: number;
  /** true: a full buffer drops its oldest events (flight recorder); false: it drops new ones. */
  overwrite?: boolean;
  /** Record only these processes (set_event_pid). */
  pids?: number[];
  /** Record every process but these (set_event_notrace_pid). */
  notPids?: number[];
  /** Children forked later join the lists (options/event-fork). */
  follow?: boolean;
  clock?: string;
}

const MIN_KB = 4;

function checkSize(kb: number): number {
  if (!Number.isInteger(kb) || kb < MIN_KB) throw new LkstError(`bad buffer size ${kb} KiB`, `give a whole number of KiB per CPU, at least ${MIN_KB}`);
  return kb;
}

/**
 * Creates the buffer NAME: a tracefs instance that outlives this process, stopped and empty, with
 * no events until a switch (or a maskset) puts some in it.
 */
export function createBuffer(name: string, opts: CreateBufferOptions = {}): Instance {
  const instName = bufferInstanceName(name);
  if (opts.sizeKb !== undefined) checkSize(opts.sizeKb);
  if (opts.follow && !opts.pids?.length && !opts.notPids?.length) throw new LkstError('--follow needs --pid', 'give the process to follow with --pid PID');
  if (Instance.exists(instName)) throw new LkstError(`buffer ${checkBufferName(name)} already exists`, 'pick another name, or delete it first with `lkst buffer delete`');
  const inst = Instance.create(instName, { owned: false });
  recordOwner(instName, 'buffer');
  try {
    inst.tracingOn = false;
    if (opts.sizeKb !== undefined) inst.bufferSizeKb = opts.sizeKb;
    if (opts.overwrite !== undefined) inst.overwrite = opts.overwrite;
    if (opts.clock) inst.clock = opts.clock;
    const scope: Partial<PidScope> = {};
    if (opts.pids?.length) scope.pids = opts.pids;
    if (opts.notPids?.length) scope.notPids = opts.notPids;
    if (opts.follow !== undefined) scope.follow = opts.follow;
    setPidScope(inst, scope);
  } catch (err) {
    inst.remove();
    dropOwner(instName);
    throw err;
  }
  return inst;
}

export function openBuffer(name: string): Instance {
  return openBufferOrInstance(bufferInstanceName(name));
}

/** Removes the buffer and what it holds. */
export function deleteBuffer(name: string): void {
  const inst = openBuffer(name);
  inst.remove();
  dropOwner(inst.name);
}

/** Changes the per-CPU size; the kernel keeps the content that fits. */
export function resizeBuffer(name: string, kbPerCpu: number): Instance {
  const inst = openBuffer(name);
  inst.bufferSizeKb = checkSize(kbPerCpu);
  return inst;
}

/** Names of the buffers that exist in the kernel now. */
export function listBufferNames(): string[] {
  return Instance.listNames()
    .filter((n) => n.startsWith(BUFFER_PREFIX))
    .map((n) => bufferNameOf(n)!);
}
