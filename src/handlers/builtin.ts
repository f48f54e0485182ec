import { ParamError } from './params.js';
import type { HandlerDefinition, KernelOp, ParamSpec } from './types.js';

const IF: ParamSpec = { type: 'filter', description: 'act only when this filter expression on the event fields holds' };
const COUNT: ParamSpec = { type: 'int', description: 'act only the first N times (0 = every time)' };

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && v > 0 ? v : undefined;
}

function trigger(command: string, params: Readonly<Record<string, unknown>>): KernelOp {
  const count = num(params['count']);
  const condition = str(params['if']);
  return { kind: 'trigger', command, ...(count ? { count } : {}), ...(condition ? { condition } : {}) };
}

export const recordHandler: HandlerDefinition = {
  name: 'record',
  description: 'record the event',
  params: {},
  apply: () => [{ kind: 'enable' }],
};

export const pidHandler: HandlerDefinition = {
  name: 'pid',
  description: "record the event only for some processes (LKST's t_pid), optionally their children too",
  params: {
    pids: { type: 'int-list', required: true, description: 'process ids, comma-separated' },
    follow: { type: 'bool', default: 'false', description: 'also record children forked later (needs every recorded event on the same pids)' },
  },
  apply: (ctx) => [{ kind: 'enable' }, { kind: 'pids', pids: ctx.params['pids'] as number[], follow: ctx.params['follow'] === true }],
};

export const filterHandler: HandlerDefinition = {
  name: 'filter',
  description: "record the event when an expression on its fields holds (the kernel's filter syntax)",
  params: { expr: { type: 'filter', required: true, description: 'e.g. "prev_pid == 1 && next_comm ~ \\"sh*\\""' } },
  apply: (ctx) => [{ kind: 'enable' }, { kind: 'filter', expr: ctx.params['expr'] as string }],
};

export const stackHandler: HandlerDefinition = {
  name: 'stack',
  description: 'record the event and the kernel stack where it fired',
  params: { if: { ...IF, description: 'take the stack only when this expression holds' } },
  apply: (ctx) => [{ kind: 'enable' }, trigger('stacktrace', ctx.params)],
};

export const stopHandler: HandlerDefinition = {
  name: 'stop',
  description: 'freeze the buffer when the event fires (flight recorder: keep what led up to it)',
  params: { if: IF, count: COUNT, record: { type: 'bool', default: 'true', description: 'record the event itself as well' } },
  apply: (ctx) => [...(ctx.params['record'] === false ? [] : [{ kind: 'enable' } as const]), trigger('traceoff', ctx.params)],
};

/**
 * Switches from the entry's maskset to another inside the kernel: one enable_event or disable_event
 * trigger per tracepoint whose recording differs, the filters of the coming events set beforehand,
 * and a stack trace as the in-kernel marker of the moment.
 */
export const switchHandler: HandlerDefinition = {
  name: 'switch',
  description: 'when the event fires, switch to another maskset inside the kernel',
  params: {
    to: { type: 'maskset', required: true, description: 'the maskset to switch to' },
    if: IF,
    count: { ...COUNT, default: '1' },
    record: { type: 'bool', default: 'false', description: 'record the event itself as well' },
    mark: { type: 'bool', default: 'true', description: 'record a kernel stack at the switch as its in-trace marker' },
  },
  apply(ctx) {
    const to = ctx.params['to'] as string;
    const now = ctx.recordedBy(ctx.maskset);
    const next = ctx.recordedBy(to);
    const ops: KernelOp[] = [];
    for (const [tp, filter] of next) {
      const cur = now.get(tp);
      if (cur === undefined) {
        ops.push({ kind: 'prepare', tracepoint: tp, ...(filter ? { filter } : {}) });
        ops.push(trigger(`enable_event:${tp}`, ctx.params));
      } else if (cur !== filter) {
        throw new ParamError(
          `switching to ${to} would change the filter of ${tp}, which a kernel trigger cannot do; give it the same filter in both masksets or switch with \`lkst maskset switch\``,
        );
      }
    }
    for (const tp of now.keys()) if (!next.has(tp)) ops.push(trigger(`disable_event:${tp}`, ctx.params));
    if (ctx.params['record'] === true) ops.push({ kind: 'enable' });
    if (ctx.params['mark'] !== false) ops.push(trigger('stacktrace', ctx.params));
    return ops;
  },
};

export const BUILTIN_HANDLERS: readonly HandlerDefinition[] = [recordHandler, pidHandler, filterHandler, stackHandler, switchHandler, stopHandler];
