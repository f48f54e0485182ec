/**
 * User handlers written in BPF C (`lkst handler add NAME FILE.bpf.c`): what lkst reads from the
 * source without compiling it. A handler names its parameters, the fields it reads and the events it
 * tells apart through the header's macros, written literally (`lkst_param(c, every)`,
 * `lkst_field(c, ptr)`, `lkst_event_is(c, kmem, kfree)`); lkst finds them here and fills them per
 * maskset line and tracepoint when it generates the recording's object (bpf/user-handlers.ts).
 */
import { readFileSync } from 'node:fs';
import { projectPath } from '../base/project-root.js';
import type { HandlerDefinition, ParamSpec } from './types.js';

/** BPF C handlers shipped with lkst (their sources in examples/handlers), built in under these names. */
export const SHIPPED_BPF: Readonly<Record<string, string>> = { 'uaf-live': 'timer-uaf.bpf.c' };

/** The source of a BPF C handler shipped with lkst, or undefined (not one, or not installed with this copy). */
export function shippedBpfSource(name: string): string | undefined {
  const file = SHIPPED_BPF[name];
  if (!file) return undefined;
  try {
    return readFileSync(projectPath('examples/handlers', file), 'utf8');
  } catch {
    return undefined;
  }
}

/** The built-in handlers written in BPF C (the seed's live case: uaf-live, examples/handlers/timer-uaf.bpf.c). */
export function shippedBpfHandlers(): HandlerDefinition[] {
  return Object.keys(SHIPPED_BPF).flatMap((name) => {
    const text = shippedBpfSource(name);
    return text ? [userBpfDefinition(name, text)] : [];
  });
}

export const BPF_HANDLER_RE = /^([a-z][a-z0-9_-]*)\.bpf\.c$/;

export interface UserBpfUses {
  readonly params: string[];
  readonly fields: string[];
  /** Values an alert carries besides the event's record, by name (lkst watch prints them). */
  readonly notes: string[];
  readonly events: { system: string; event: string }[];
  /** Values it records as events of its own (`struct lkst_value_NAME`, recorded by lkst_value). */
  readonly values: UserValueDecl[];
  /** Masksets it switches to (lkst_switch) and buffers it routes to (lkst_route), as the C names write them. */
  readonly switches: string[];
  readonly routes: string[];
}

/** One field of a value struct as the source declares it: `TYPE NAME;` or `TYPE NAME[N];`. */
export interface UserValueField {
  readonly name: string;
  readonly type: string;
  /** Array length (absent for a scalar). */
  readonly count?: number;
}

export interface UserValueDecl {
  readonly name: string;
  readonly fields: UserValueField[];
  /** Where it is declared (1-based line), for errors. */
  readonly line: number;
}

/** The value structs a source declares; each field is read as written (layout and types are checked in bpf/user-values.ts). */
function valueDecls(text: string): UserValueDecl[] {
  const out: UserValueDecl[] = [];
  for (const m of text.matchAll(/\bstruct\s+lkst_value_(\w+)\s*\{([^}]*)\}/g)) {
    const body = m[2]!.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const fields = body.split(';').map((d) => d.trim()).filter(Boolean).map((d): UserValueField => {
      const f = /^([A-Za-z_][\w ]*?)\s+([A-Za-z_]\w*)\s*(?:\[\s*(\d+)\s*\])?$/.exec(d.replace(/\s+/g, ' '));
      return f ? { name: f[2]!, type: f[1]!, ...(f[3] ? { count: Number(f[3]) } : {}) } : { name: d, type: '?' };
    });
    out.push({ name: m[1]!, fields, line: text.slice(0, m.index).split('\n').length });
  }
  return out;
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
    values: valueDecls(text),
    switches: names(text, /\blkst_switch\s*\(\s*\w+\s*,\s*(\w+)\s*\)/g),
    routes: names(text, /\blkst_route\s*\(\s*\w+\s*,\s*(\w+)\s*\)/g),
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
