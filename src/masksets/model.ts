/** One line of a maskset: an event, its handler and the handler's parameters as written. */
export interface MasksetEntry {
  /** An LKST event name (PROCESS_CONTEXTSWITCH), a category (@memory) or a tracepoint (sched:sched_switch). */
  readonly event: string;
  readonly handler: string;
  readonly params: Readonly<Record<string, string>>;
  /** Where it was written, for error messages ("FILE:LINE"). */
  readonly where: string;
  /** Recorded where this kernel has it, left out (and listed) where it does not: the built-ins mean "all this kernel has". */
  readonly ifPresent?: boolean;
}

/** A named table event -> handler. An event not in the table is not traced (LKST's null handler). */
export interface Maskset {
  readonly name: string;
  readonly description: string;
  /** Masksets whose entries come first (later entries for the same event replace them). */
  readonly includes: readonly string[];
  readonly entries: readonly MasksetEntry[];
  /** The file it was read from, or "built-in". */
  readonly source: string;
}

export const MASKSET_NAME_RE = /^[A-Za-z0-9_.-]+$/;
