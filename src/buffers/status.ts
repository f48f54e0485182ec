import type { CpuStats, Instance } from '../tracefs/instance.js';
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
