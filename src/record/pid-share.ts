import { readFileSync } from 'node:fs';
import { forEachRecord } from '../ringbuf/page.js';
import { INTERRUPT_FLAGS } from './self-filter.js';

/** How many of a recording's events some tasks made: in task context, and in interrupts on their time. */
export interface PidShare {
  events: number;
  /** Events with one of the pids as common_pid, outside interrupts. */
  inTask: number;
  /** Events with one of the pids as common_pid, in a hardirq, softirq or NMI. */
  inInterrupt: number;
}

/** Reads per-CPU page files (common_pid and common_flags sit at data offsets 4 and 2 in every event). */
export function pidShare(files: readonly string[], pageSize: number, pids: readonly number[]): PidShare {
  const set = new Set(pids);
  const share: PidShare = { events: 0, inTask: 0, inInterrupt: 0 };
  for (const f of files) {
    const data = readFileSync(f);
    for (let off = 0; off + pageSize <= data.length; off += pageSize)
      forEachRecord(data, off, pageSize, (_ts, at, len) => {
        share.events++;
        if (len < 8 || !set.has(data.readInt32LE(at + 4))) return;
        if (data[at + 2]! & INTERRUPT_FLAGS) share.inInterrupt++;
        else share.inTask++;
      });
  }
  return share;
}
