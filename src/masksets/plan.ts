/** What a maskset asks of the kernel, per tracepoint, once compiled for one kernel. */

export interface TriggerPlan {
  /** stacktrace, traceoff, enable_event:S:E, ... (one per command and event: the kernel's rule). */
  readonly command: string;
  readonly count?: number;
  readonly condition?: string;
}

export interface TracepointPlan {
  readonly id: string;
  readonly system: string;
  readonly event: string;
  /** Recorded into the buffer. */
  readonly enabled: boolean;
  /** The kernel filter ('' = none); for a tracepoint that is not enabled, set ahead for a trigger to enable it. */
  readonly filter: string;
  readonly triggers: readonly TriggerPlan[];
  /** The maskset lines behind it ("FILE:LINE EVENT HANDLER"), for status and errors. */
  readonly from: readonly string[];
}

export interface MissingEvent {
  readonly event: string;
  readonly where: string;
  readonly reason: string;
}

export interface KernelPlan {
  readonly maskset: string;
  readonly tracepoints: ReadonlyMap<string, TracepointPlan>;
  /** Instance-wide pid restriction (set_event_pid), when every recorded event has the same one. */
  readonly pids?: { readonly pids: readonly number[]; readonly follow: boolean };
  /** Entries whose events this kernel lacks; applying refuses unless they may be skipped. */
  readonly missing: readonly MissingEvent[];
}

/** The trigger line as the kernel takes it. */
export function triggerText(t: TriggerPlan): string {
  return `${t.command}${t.count ? `:${t.count}` : ''}${t.condition ? ` if ${t.condition}` : ''}`;
}

export function andFilters(parts: readonly string[]): string {
  const p = parts.filter((s) => s.trim());
  return p.length <= 1 ? (p[0] ?? '') : p.map((s) => `(${s})`).join(' && ');
}

export function orFilters(parts: readonly string[]): string {
  if (parts.some((s) => !s.trim())) return '';
  return parts.length <= 1 ? (parts[0] ?? '') : parts.map((s) => `(${s})`).join(' || ');
}

/**
 * Every tracepoint a plan may record: the enabled ones and those a switch trigger can enable
 * later (a recorder needs all their formats). ftrace's own events (print, kernel_stack) are not included.
 */
export function planEvents(plan: KernelPlan): { system: string; event: string }[] {
  return [...plan.tracepoints.values()].map((t) => ({ system: t.system, event: t.event }));
}
