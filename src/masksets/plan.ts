/** What a maskset asks of the kernel, per tracepoint, once compiled for one kernel. */
import { splitTracepointId } from '../events/resolve.js';
import type { BpfOp } from '../handlers/types.js';

export interface TriggerPlan {
  /** stacktrace, traceoff, enable_event:S:E, ... (one per command and event: the kernel's rule). */
  readonly command: string;
  readonly count?: number;
  readonly condition?: string;
  /** Another tracefs instance (a buffer) the trigger goes in; absent: the one the plan is applied to. */
  readonly instance?: string;
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
  /** From an entry recorded only where the kernel has it: listed, never refused. */
  readonly optional?: boolean;
}

export interface KernelPlan {
  readonly maskset: string;
  readonly tracepoints: ReadonlyMap<string, TracepointPlan>;
  /** Instance-wide pid restriction (set_event_pid), when every recorded event has the same one. */
  readonly pids?: { readonly pids: readonly number[]; readonly follow: boolean };
  /** Entries whose events this kernel lacks; applying refuses unless they may be skipped. */
  readonly missing: readonly MissingEvent[];
  /** Handlers that run as BPF programs (the recorder loads them; tracefs is not involved). */
  readonly bpf?: readonly BpfPlanEntry[];
}

/** One entry's handler on one tracepoint, run by the BPF engine. */
export interface BpfPlanEntry {
  readonly tp: string;
  readonly handler: BpfOp['handler'];
  readonly params: BpfOp['params'];
  /** "FILE:LINE EVENT HANDLER", for errors. */
  readonly from: string;
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
  const out = [...plan.tracepoints.values()].map((t) => ({ system: t.system, event: t.event }));
  // BPF records keep their tracepoint's format: the trace needs it even when ftrace does not record it.
  for (const id of new Set((plan.bpf ?? []).map((b) => b.tp))) if (!plan.tracepoints.has(id)) out.push(splitTracepointId(id));
  return out;
}

/** Whether a trigger goes in the instance the plan is applied to. */
export function isLocalTrigger(t: TriggerPlan, instance: string): boolean {
  return !t.instance || t.instance === instance;
}

/** The plan as it concerns one instance: triggers meant for other instances left out. */
export function localPlan(plan: KernelPlan, instance: string): KernelPlan {
  const tracepoints = new Map<string, TracepointPlan>();
  for (const [id, tp] of plan.tracepoints) {
    const triggers = tp.triggers.filter((t) => isLocalTrigger(t, instance)).map(({ instance: _, ...t }) => t);
    if (tp.enabled || tp.filter || triggers.length) tracepoints.set(id, { ...tp, triggers });
  }
  return { ...plan, tracepoints };
}

/** Triggers a plan puts in other instances: instance -> tracepoint -> triggers. */
export function foreignTriggers(plan: KernelPlan, instance: string): Map<string, Map<string, TriggerPlan[]>> {
  const out = new Map<string, Map<string, TriggerPlan[]>>();
  for (const tp of plan.tracepoints.values()) {
    for (const t of tp.triggers) {
      if (isLocalTrigger(t, instance)) continue;
      const byTp = out.get(t.instance!) ?? new Map<string, TriggerPlan[]>();
      byTp.set(tp.id, [...(byTp.get(tp.id) ?? []), t]);
      out.set(t.instance!, byTp);
    }
  }
  return out;
}
