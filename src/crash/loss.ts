// What a dump's ring-buffer counters say about losses, in the trace model's terms.
import type { CpuLossCounters } from '../trace/model.js';
import type { CpuPages } from './ringbuffer.js';

/**
 * A dump holds the buffer's last window. Events the writer overwrote are older than its oldest
 * page: before this window, never lost inside it (the recovery flags them on the first page, so
 * that page's count is all "before"). Events a full stop-when-full buffer discarded came after
 * its last page: lost.
 */
export function lossCountersOfDump(c: Pick<CpuPages, 'overrun' | 'dropped' | 'commitOverrun' | 'entries' | 'damagedPages' | 'missingPages' | 'damageLost'>): CpuLossCounters {
  const end = { overrun: c.overrun, dropped: c.dropped, commitOverrun: c.commitOverrun, entries: c.entries };
  const out: CpuLossCounters = { start: { overrun: c.overrun, dropped: 0, commitOverrun: c.commitOverrun, entries: 0 }, end, beforeInPages: c.overrun };
  // Events that damaged or missing pages took with them never reach a reader: lost like events in transit.
  if (c.damageLost) out.inTransit = c.damageLost;
  else if (c.damageLost === undefined && (c.damagedPages || c.missingPages)) {
    out.cutShort = `${c.damagedPages + c.missingPages} page(s) damaged or missing from the dump, and the kernel's counters do not say how many events they held`;
  }
  return out;
}
