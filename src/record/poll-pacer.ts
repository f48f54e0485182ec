/**
 * When to look at the per-CPU buffers next. While data flows, the next look comes before the
 * busiest CPU's buffer is a fifth full at the rate seen lately (at most busyMs apart), so a storm
 * does not overrun it. The rate estimate falls slowly (storms are bursty, and a drain that stopped
 * early under-reads the rate). Idle buffers are looked at every idleMs: each wakeup costs CPU
 * (tens of µs in a VM), so idle looks are as rare as the buffer size allows for a storm that
 * starts from nothing.
 */
export class PollPacer {
  private static readonly TARGET_FILL = 0.2;
  private static readonly MIN_MS = 1;
  private static readonly DECAY = 0.8;
  /** The fastest storm an idle look interval is sized for (bytes per ms per CPU: ~200 MB/s). */
  private static readonly STORM_BYTES_PER_MS = 200_000;
  private rate = 0;
  readonly idleMs: number;

  constructor(
    private readonly bufferBytesPerCpu: number,
    private readonly busyMs: number,
    maxIdleMs = 20,
  ) {
    const sized = bufferBytesPerCpu > 0 ? bufferBytesPerCpu / PollPacer.STORM_BYTES_PER_MS : busyMs;
    this.idleMs = Math.max(busyMs, Math.min(maxIdleMs, sized));
  }

  /** Delay before the next look, given the most bytes one CPU yielded and the time since the last look. */
  next(maxCpuBytes: number, elapsedMs: number): number {
    const now = Math.max(0, maxCpuBytes) / Math.max(elapsedMs, 0.1);
    this.rate = Math.max(now, this.rate * PollPacer.DECAY);
    if (this.rate * this.busyMs < 4096 || !(this.bufferBytesPerCpu > 0)) return this.idleMs;
    const ms = (this.bufferBytesPerCpu * PollPacer.TARGET_FILL) / this.rate;
    return Math.min(this.busyMs, Math.max(PollPacer.MIN_MS, ms));
  }
}
