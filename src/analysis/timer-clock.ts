/**
 * Timer expiries in trace time. A timer_list expires in jiffies: timer_start carries the jiffies
 * `now` it was armed at, so the expiry is that many ticks after the arming, at the kernel's HZ,
 * read off the trace (jiffies passed against time passed, snapped to the HZ values Linux offers).
 * An hrtimer expires on its clock base (CLOCK_MONOTONIC for most): hrtimer_expire_entry carries
 * that clock's `now`, which ties it to the trace clock.
 */
const HZ_VALUES = [100, 250, 300, 1000];
/** Jiffies needed between two samples before HZ is trusted: the estimate is within 1/this of the truth. */
const MIN_TICKS = 50;

export class TimerClock {
  private first?: { ts: number; jiffies: number };
  private last?: { ts: number; jiffies: number };
  /** Trace time minus the hrtimer clock, from the latest hrtimer expiry seen. */
  private hrOffset?: number;

  save(): unknown {
    return { first: this.first ?? null, last: this.last ?? null, hrOffset: this.hrOffset ?? null };
  }

  load(s: unknown): void {
    const saved = s as { first: TimerClock['first'] | null; last: TimerClock['last'] | null; hrOffset: number | null };
    this.first = saved.first ?? undefined;
    this.last = saved.last ?? undefined;
    this.hrOffset = saved.hrOffset ?? undefined;
  }

  jiffiesAt(ts: number, jiffies: number): void {
    const s = { ts, jiffies };
    this.first ??= s;
    this.last = s;
  }

  hrtimerNow(ts: number, now: number): void {
    this.hrOffset = ts - now;
  }

  /** The kernel's HZ, when the trace spans enough ticks to tell. */
  hz(): number | undefined {
    if (!this.first || !this.last) return undefined;
    const ticks = this.last.jiffies - this.first.jiffies;
    const secs = (this.last.ts - this.first.ts) / 1e9;
    if (ticks < MIN_TICKS || secs <= 0) return undefined;
    const est = ticks / secs;
    const hz = HZ_VALUES.reduce((a, b) => (Math.abs(b - est) < Math.abs(a - est) ? b : a));
    return Math.abs(hz - est) / hz < 0.05 ? hz : undefined;
  }

  /** Trace time (ns) of an expiry, or undefined when the trace cannot tell. */
  expiryAt(kind: 'timer' | 'hrtimer', expires: number, armedAt: number, armedJiffies?: number): number | undefined {
    if (kind === 'hrtimer') return this.hrOffset === undefined ? undefined : expires + this.hrOffset;
    const hz = this.hz();
    if (hz === undefined || armedJiffies === undefined) return undefined;
    return armedAt + ((expires - armedJiffies) * 1e9) / hz;
  }
}
