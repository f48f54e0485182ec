/**
 * Live page delivery (`lkst stream`): the recorder hands each CPU's pages to a consumer as it reads
 * them instead of writing page files, in rounds that read every CPU up to the present.
 */
import type { CpuStats } from '../tracefs/instance.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import type { CpuReader } from './cpu-reader.js';

export interface LiveStart {
  /** What decoding needs, read once the events are enabled (kallsyms on first use). */
  meta: TraceMeta;
  /** The CPUs whose pages will come, in the order of their readers. */
  cpus: number[];
  /** The kernel's counters per CPU (same order) before the first page was read. */
  start: CpuStats[];
  /** The kernel's saved_cmdlines now: task names of pids met after the start. */
  cmdlines(): string;
}

export interface LivePages {
  start(info: LiveStart): void;
  /**
   * False while the consumer is behind (its output is slow): pages then stay in the kernel's
   * buffer, which overwrites the oldest and counts them, so memory stays bounded and no loss is silent.
   */
  ready(): boolean;
  /** Records wait for the next round (which then comes at the next look, not after --poll). */
  holding(): boolean;
  /** Whole pages of one CPU, in order; the buffer is the consumer's to keep. */
  pages(cpu: number, chunk: Buffer): void;
  /**
   * Every CPU was read until the kernel had no more: a record stamped before the latest time seen
   * in an earlier round has been delivered by now (it was written before that round ended).
   */
  round(): void;
}

/**
 * One look of the live recorder: when any CPU holds a page or has waited maxPollMs, or the consumer
 * holds records for the next round, every CPU is read up to the present and a round ends. Returns
 * the most bytes one CPU gave (for the pacer).
 */
export function liveRound(readers: readonly CpuReader[], lastRead: number[], now: number, maxPollMs: number, live: LivePages): number {
  if (!live.ready() || !(live.holding() || readers.some((r, i) => readDue(r, now - lastRead[i]!, maxPollMs)))) return 0;
  let most = 0;
  readers.forEach((r, i) => {
    const before = r.stats.bytes;
    r.drain(Infinity, { stopAtPartialPage: true });
    lastRead[i] = now;
    most = Math.max(most, r.stats.bytes - before);
  });
  live.round();
  return most;
}

/** A CPU is worth reading when it holds a whole page (or its fill is unknown), or it waited maxPollMs. */
export function readDue(r: CpuReader, waitedMs: number, maxPollMs: number): boolean {
  const unread = r.unreadBytes();
  return unread < 0 || unread >= r.pageSize || waitedMs >= maxPollMs;
}
