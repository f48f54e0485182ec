import { Instance, type CpuStats } from '../tracefs/instance.js';
import { bufferNameOf } from './name.js';
import { pidScope, type PidScope } from './pids.js';

export interface CpuBufferStatus extends CpuStats {
  cpu: number;
  sizeKb: number;
}

/** What the kernel reports about one buffer now. */
export interface BufferStatus {
  name: string;
  instance: string;
  recording: boolean;
  overwrite: boolean;
  sizeKb: number;
  clock: string;
  /** Events enabled for recording ("system:event"). */
  events: string[];
  pids: PidScope;
  cpus: CpuBufferStatus[];
}

export function bufferStatus(inst: Instance): BufferStatus {
  const cpus = inst.cpus().map((cpu) => ({
    cpu,
    sizeKb: parseInt(inst.read(`per_cpu/cpu${cpu}/buffer_size_kb`), 10),
    ...inst.cpuStats(cpu),
  }));
  const events = inst.enabledEvents().filter((e) => {
    const [system, event] = e.split(':') as [string, string];
    return inst.isEventEnabled(system, event);
  });
  return {
    name: bufferNameOf(inst.name) ?? inst.name,
    instance: inst.name,
    recording: inst.tracingOn,
    overwrite: inst.overwrite,
    sizeKb: inst.bufferSizeKb,
    clock: inst.clock,
    events,
    pids: pidScope(inst),
    cpus,
  };
}

/**
 * The status of each named instance that still exists. Another lkst (or a test) may delete a buffer
 * while it is being read: such a buffer is left out rather than failing the whole listing.
 */
export function existingStatuses(instanceNames: readonly string[]): BufferStatus[] {
  const out: BufferStatus[] = [];
  for (const name of instanceNames) {
    try {
      out.push(bufferStatus(Instance.open(name)));
    } catch (err) {
      if (Instance.exists(name)) throw err;
    }
  }
  return out;
}
