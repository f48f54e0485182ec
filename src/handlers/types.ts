/**
 * The handler interface. A handler turns one maskset entry (an event and its parameters) into
 * kernel operations; lkst merges the operations of all entries per tracepoint and applies them.
 * A handler never touches tracefs itself, so masksets can be diffed, validated and switched
 * without knowing which handler made an operation.
 */

/** What a parameter accepts. */
export type ParamType = 'int' | 'int-list' | 'string' | 'bool' | 'filter' | 'maskset' | 'buffer';

export interface ParamSpec {
  readonly type: ParamType;
  readonly description: string;
  readonly required?: boolean;
  readonly default?: string;
}

export type ParamValue = number | number[] | string | boolean;
export type ParamValues = Readonly<Record<string, ParamValue | undefined>>;

/** "system:event" of one tracepoint. */
export type TracepointId = string;

/**
 * One operation on the kernel, for the tracepoint(s) of the entry's event unless it names another.
 * - enable: record the event.
 * - filter: record only when the expression holds (several filters are ANDed).
 * - pids: record only for these processes (and their children with follow).
 * - trigger: an event trigger command (stacktrace, traceoff, traceon, enable_event:S:E, disable_event:S:E)
 *   run when the event fires, optionally only when `condition` holds and only `count` times;
 *   `instance` puts it in another tracefs instance (a buffer, lkst-buf-NAME): a trigger acts only on
 *   its own instance, so acting on another buffer means a trigger there, on the same tracepoint.
 * - prepare: set up another tracepoint's filter without enabling it, so a trigger can enable it later.
 * - bpf: run a built-in handler (`handler`, with its checked params) as a BPF program attached to
 *   the tracepoint (bpf/program.ts writes it); the recorder loads the bpf ops of all entries as one object.
 * New kinds are added here and in the applier; masksets and commands do not change.
 */
export type KernelOp =
  | { readonly kind: 'enable' }
  | { readonly kind: 'filter'; readonly expr: string }
  | { readonly kind: 'pids'; readonly pids: readonly number[]; readonly follow: boolean }
  | { readonly kind: 'trigger'; readonly command: string; readonly count?: number; readonly condition?: string; readonly instance?: string }
  | { readonly kind: 'prepare'; readonly tracepoint: TracepointId; readonly filter?: string }
  | BpfOp;

/** A handler the BPF engine runs in the kernel at the event (bpf/program.ts knows each one). */
export interface BpfOp {
  readonly kind: 'bpf';
  readonly handler: 'record' | 'count' | 'switch' | 'route' | 'alert' | 'user';
  readonly params: ParamValues;
}

/** What lkst tells a handler about the entry it maps. */
export interface HandlerContext {
  /** The entry's event as written in the maskset (an LKST name or system:event). */
  readonly event: string;
  /** The tracepoints behind the event on this kernel. */
  readonly tracepoints: readonly TracepointId[];
  /** Parameters, checked and converted by their ParamSpec. */
  readonly params: ParamValues;
  /** The maskset the entry belongs to. */
  readonly maskset: string;
  /**
   * What another maskset records per tracepoint ('' = unfiltered), compiled on this kernel;
   * for handlers that change the maskset from inside the kernel.
   */
  recordedBy(maskset: string): ReadonlyMap<TracepointId, string>;
}

/** A handler: built in or a user's module (`export default { ... } satisfies HandlerDefinition`). */
export interface HandlerDefinition {
  readonly name: string;
  readonly description: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  apply(ctx: HandlerContext): KernelOp[];
}
