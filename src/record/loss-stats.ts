// The recorder's side of exact loss accounting: the kernel's counters at start and end, into the file.
import type { CpuStats } from '../tracefs/instance.js';
import { beforeInPages, countersOf, cpuStatsText, cutShortText, recordingLost, type CpuLoss } from '../trace/loss.js';
import type { CpuCapture } from './cpu-reader.js';

/**
 * The loss figures of one CPU of a recording from its counters at start and end and what its
 * pages flagged: the same numbers every reader of the file gets (trace/loss.ts).
 */
export function recordingLoss(buffer: string, cap: CpuCapture, start: CpuStats, end: CpuStats): CpuLoss {
  const counters = { start: countersOf(start), end: countersOf(end), inTransit: cap.lostInTransit ?? 0 };
  return { buffer, cpu: cap.cpu, lost: recordingLost(counters), exact: true, before: counters.start.overrun + counters.start.dropped, places: 0 };
}

/**
 * Events the kernel handed a reader between two readings of its counters that are not in its files:
 * a reader killed between a read and its write, or a torn last page.
 */
export function readNotWritten(start: CpuStats | undefined, end: CpuStats, written: number): number {
  return Math.max(0, end.readEvents - (start?.readEvents ?? 0) - written);
}

/**
 * One CPU's capture from the kernel's counters, for a fresh buffer that only the pump read: it writes
 * every event it is handed, so the growth of "read events" is what its file holds (the same as
 * walking the file's records, which cost 40% of the pump's CPU on a storm). The loss comes from the
 * counters too (recordingLoss): no page flags are counted; bytes are the file's whole pages.
 */
export function capturedByKernel(cpu: number, start: CpuStats, end: CpuStats, fileBytes: number, pageSize: number): CpuCapture {
  const pages = Math.floor(fileBytes / pageSize);
  return { cpu, pages, bytes: pages * pageSize, events: end.readEvents - start.readEvents, lostInPages: 0, lossFlagsWithoutCount: 0 };
}

/**
 * One CPU's CPUSTAT text for a window whose reader died (a recording's journal, a logd segment):
 * exact from its end counters, or, when they were never read and the buffer is gone, cut short
 * with the reason (trace/loss.ts marks that CPU's loss uncertain).
 */
export function recoveredStatsText(cap: CpuCapture, start: CpuStats | undefined, end: { text: string; stats: CpuStats } | undefined, inTransit: number, cutShort: string): string {
  const s = start && countersOf(start);
  if (!end) return cutShortText(s, cutShort);
  return cpuStatsText(end.text, s, beforeInPages(cap.lostInPages, s, countersOf(end.stats)), inTransit);
}

/** The per-CPU CPUSTAT texts with the start counters (and what the pages flagged from before the start) added. */
export function stampStartCounters(stats: (string | undefined)[], caps: CpuCapture[], start: CpuStats[], end: CpuStats[]): (string | undefined)[] {
  const out = [...stats];
  caps.forEach((cap, i) => {
    const s = start[i];
    const e = end[i];
    if (!s || !e) return;
    const st = countersOf(s);
    out[cap.cpu] = cpuStatsText(out[cap.cpu] ?? '', st, beforeInPages(cap.lostInPages, st, countersOf(e)), cap.lostInTransit ?? 0);
  });
  return out;
}
