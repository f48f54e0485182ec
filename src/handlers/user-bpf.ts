/**
 * User handlers written in BPF C (`lkst handler add NAME FILE.bpf.c`): what lkst reads from the
 * source without compiling it. A handler names its parameters, the fields it reads and the events it
 * tells apart through the header's macros, written literally (`lkst_param(c, every)`,
 * `lkst_field(c, ptr)`, `lkst_event_is(c, kmem, kfree)`); lkst finds them here and fills them per
 * maskset line and tracepoint when it generates the recording's object (bpf/user-handlers.ts).
 */
import type { HandlerDefinition, ParamSpec } from './types.js';

export const BPF_HANDLER_RE = /^([a-z][a-z0-9_-]*)\.bpf\.c$/;

export interface UserBpfUses {
  readonly params: string[];
  readonly fields: string[];
  /** Values an alert carries besides the event's record, by name (lkst watch prints them). */
  readonly notes: string[];
  readonly events: { system: string; event: string }[];
}

function names(text: string, re: RegExp): string[] {
  return [...new Set([...text.matchAll(re)].map((m) => m[1]!))];
}

/** The parameters, fields and events a handler's source names through the header's macros. */
export function userBpfUses(text: string): UserBpfUses {
  const events = [...text.matchAll(/\blkst_event_is\s*\(\s*\w+\s*,\s*(\w+)\s*,\s*(\w+)\s*\)/g)].map((m) => ({ system: m[1]!, event: m[2]! }));
  return {
    params: names(text, /\blkst_param\s*\(\s*\w+\s*,\s*(\w+)\s*\)/g),
    fields: names(text, /\blkst_(?:field|has)\s*\(\s*\w+\s*,\s*(\w+)\s*\)/g),
    notes: names(text, /\blkst_note\s*\(\s*\w+\s*,\s*(\w+)\s*,/g),
    events: events.filter((e, i) => events.findIndex((x) => x.system === e.system && x.event === e.event) === i),
  };
}

/** The description: the source's first comment line, else where it came from. */
function description(text: string, name: string): string {
  const m = /^\s*(?:\/\/|\/\*+)\s*(.*?)\s*(?:\*\/)?$/m.exec(text.split('\n').find((l) => l.trim()) ?? '');
  return m?.[1] || `user handler ${name} in BPF C`;
}

/** The maskset-line form of a registered BPF C handler: one `user` op on BPF with its whole-number parameters (0 when not given). */
export function userBpfDefinition(name: string, text: string): HandlerDefinition {
  const params: Record<string, ParamSpec> = {};
  for (const p of userBpfUses(text).params) params[p] = { type: 'int', default: '0', description: `lkst_param(c, ${p}) in the handler's C` };
  return {
    name,
    description: `${description(text, name)} (BPF C)`,
    params,
    apply: (ctx) => [{ kind: 'bpf', handler: 'user', params: { name, ...ctx.params } }],
  };
}
