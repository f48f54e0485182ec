/**
 * When to drain the per-CPU buffers next. Idle buffers are polled at the slow interval (fewer
 * wakeups, fuller pages); when data flows, the next drain comes before the busiest CPU's buffer
 * is a fifth full at the rate seen lately, so a storm does not overrun it. The rate estimate falls
 * slowly (storms are bursty, and a drain that stopped early under-reads the rate).
 */
export class PollPacer {
  private static readonly TARGET_FILL = 0.2;
  private static readonly MIN_MS = 1;
  private static readonly DECAY = 0.8;
  private rate = 0;

  constructor(
    private readonly bufferBytesPerCpu: number,
    private readonly maxMs: number,
  ) {}

  /** Delay before the next drain, given the most bytes one CPU yielded and the time since the last drain. */
  next(maxCpuBytes: number, elapsedMs: number): number {
    const now = Math.max(0, maxCpuBytes) / Math.max(elapsedMs, 0.1);
    this.rate = Math.max(now, this.rate * PollPacer.DECAY);
    if (this.rate * this.maxMs < 4096 || !(this.bufferBytesPerCpu > 0)) return this.maxMs;
    const ms = (this.bufferBytesPerCpu * PollPacer.TARGET_FILL) / this.rate;
    return Math.min(this.maxMs, Math.max(PollPacer.MIN_MS, ms));
  }
}
