// What a dump's ring-buffer counters say about losses, in the trace model's terms.
import type { CpuLossCounters } from '../trace/model.js';
import type { CpuPages } from './ringbuffer.js';

/**
 * A dump holds the buffer's last window. Events the writer overwrote are older than its oldest
 * page: before this window, never lost inside it (the recovery flags them on the first page, so
 * that page's count is all "before"). Events a full stop-when-full buffer discarded came after
 * its last page: lost.
 */
export function lossCountersOfDump(c: Pick<CpuPages, 'overrun' | 'dropped' | 'commitOverrun' | 'entries'>): CpuLossCounters {
  const end = { overrun: c.overrun, dropped: c.dropped, commitOverrun: c.commitOverrun, entries: c.entries };
  return { start: { overrun: c.overrun, dropped: 0, commitOverrun: c.commitOverrun, entries: 0 }, end, beforeInPages: c.overrun };
}
