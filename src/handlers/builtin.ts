import { bufferStopOps, bufferSwitchOps } from '../buffers/switch.js';
import { ParamError } from './params.js';
import type { HandlerDefinition, KernelOp, ParamSpec } from './types.js';
import { alertHandler, countHandler, rateHandler, routeHandler, sampleHandler } from './bpf.js';
import { shippedBpfHandlers } from './user-bpf.js';

const IF: ParamSpec = { type: 'filter', description: 'act only when this filter expression on the event fields holds' };
const COUNT: ParamSpec = { type: 'int', description: 'act only the first N times (0 = every time)' };

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/** The entry's `if` and `count` as a trigger's condition and count. */
function when(params: Readonly<Record<string, unknown>>): { condition?: string; count?: number } {
  const count = num(params['count']);
  const condition = str(params['if']);
  return { ...(count ? { count } : {}), ...(condition ? { condition } : {}) };
}

function trigger(command: string, params: Readonly<Record<string, unknown>>): KernelOp {
  return { kind: 'trigger', command, ...when(params) };
}

const ENABLE: KernelOp = { kind: 'enable' };

const ENGINE: ParamSpec = { type: 'string', default: 'ftrace', description: "ftrace (the instance's ring buffer) or bpf (a BPF program records into the trace's buffer bpf)" };

/** Whether the entry asks for the BPF engine (engine=bpf); anything but ftrace or bpf is refused. */
function onBpf(params: Readonly<Record<string, unknown>>): boolean {
  const engine = params['engine'];
  if (engine !== 'bpf' && engine !== 'ftrace') throw new ParamError(`engine=${String(engine)}: expected ftrace or bpf`);
  return engine === 'bpf';
}

export const recordHandler: HandlerDefinition = {
  name: 'record',
  description: 'record the event',
  params: { engine: ENGINE },
  apply: (ctx) => (onBpf(ctx.params) ? [{ kind: 'bpf', handler: 'record', params: {} }] : [ENABLE]),
};

export const pidHandler: HandlerDefinition = {
  name: 'pid',
  description: "record the event only for some processes (LKST's t_pid), optionally their children too",
  params: {
    pids: { type: 'int-list', required: true, description: 'process ids, comma-separated' },
    follow: { type: 'bool', default: 'false', description: 'also record children forked later (needs every recorded event on the same pids)' },
    engine: ENGINE,
  },
  apply(ctx) {
    const pids = ctx.params['pids'] as number[];
    const follow = ctx.params['follow'] === true;
    if (onBpf(ctx.params)) return [{ kind: 'bpf', handler: 'record', params: { pids, follow } }];
    return [{ kind: 'enable' }, { kind: 'pids', pids, follow }];
  },
};

/** Events naming a second task besides the current one (common_pid), which set_event_pid also lets through. */
const OTHER_TASK: Readonly<Record<string, readonly string[]>> = {
  'sched:sched_switch': ['prev_pid', 'next_pid'],
  'sched:sched_wakeup': ['common_pid', 'pid'],
  'sched:sched_wakeup_new': ['common_pid', 'pid'],
  'sched:sched_waking': ['common_pid', 'pid'],
};

/**
 * The pid handler as a filter on one tracepoint, when set_event_pid cannot serve (different pid
 * sets in one maskset): a switch into a process is its as much as a switch out (common_pid is only
 * the task switching out), and a wakeup is the woken's as well as the waker's, as set_event_pid decides.
 */
export function pidFilter(tracepoint: string, pids: readonly number[]): string {
  const fields = OTHER_TASK[tracepoint] ?? ['common_pid'];
  return pids.flatMap((p) => fields.map((f) => `${f} == ${p}`)).join(' || ');
}

export const filterHandler: HandlerDefinition = {
  name: 'filter',
  description: "record the event when an expression on its fields holds (the kernel's filter syntax)",
  params: { expr: { type: 'filter', required: true, description: 'e.g. "prev_pid == 1 && next_comm ~ \\"sh*\\""' }, engine: ENGINE },
  apply(ctx) {
    const expr = ctx.params['expr'] as string;
    return onBpf(ctx.params) ? [{ kind: 'bpf', handler: 'record', params: { expr } }] : [{ kind: 'enable' }, { kind: 'filter', expr }];
  },
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
  params: {
    if: IF,
    count: COUNT,
    record: { type: 'bool', default: 'true', description: 'record the event itself as well' },
    buffer: { type: 'buffer', description: 'freeze this buffer (lkst buffer create) instead of the one the maskset records into' },
  },
  apply(ctx) {
    const record = ctx.params['record'] === false ? [] : [ENABLE];
    const buffer = str(ctx.params['buffer']);
    return [...record, ...(buffer ? bufferStopOps(buffer, when(ctx.params)) : [trigger('traceoff', ctx.params)])];
  },
};

/**
 * Switches inside the kernel when the event fires. to=MASKSET: one enable_event or disable_event
 * trigger per tracepoint whose recording differs, the filters of the coming events set beforehand,
 * and a stack trace as the in-kernel marker of the moment. buffer=NAME: the maskset goes on in
 * buffer NAME: traceoff here and traceon there, on the same tracepoint (lkst gives NAME the
 * maskset's events, stopped, when it applies the maskset).
 * record=true with to=: the kernel drops an event whose own trigger turns it off (the soft-disable is
 * checked after the triggers ran), so the firing event is left on: it stays recorded after the switch.
 */
export const switchHandler: HandlerDefinition = {
  name: 'switch',
  description: 'when the event fires, switch to another maskset, or to another buffer, inside the kernel',
  params: {
    to: { type: 'maskset', description: 'the maskset to switch to' },
    buffer: { type: 'buffer', description: 'the buffer (lkst buffer create) to record into from then on' },
    if: IF,
    count: { ...COUNT, default: '1' },
    record: { type: 'bool', default: 'false', description: 'record the event itself as well (with to=: it stays recorded after the switch)' },
    mark: { type: 'bool', default: 'true', description: 'with to=: record a kernel stack at the switch as its in-trace marker' },
    engine: { type: 'string', default: 'ftrace', description: "bpf: switch the recording's table of handlers on BPF to MASKSET in one map write (any two masksets of BPF handlers)" },
  },
  apply(ctx) {
    const buffer = str(ctx.params['buffer']);
    const to = str(ctx.params['to']);
    if (!to === !buffer) throw new ParamError('give to=MASKSET or buffer=NAME (one of them)');
    if (onBpf(ctx.params)) {
      if (!to) throw new ParamError('engine=bpf switches to=MASKSET (a maskset of handlers on BPF)');
      return [{ kind: 'bpf', handler: 'switch', params: { to } }];
    }
    if (buffer) return [...(ctx.params['record'] === true ? [ENABLE] : []), ...bufferSwitchOps(undefined, buffer, when(ctx.params))];
    const now = ctx.recordedBy(ctx.maskset);
    const next = ctx.recordedBy(to!);
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
    const record = ctx.params['record'] === true;
    const firing = new Set(ctx.tracepoints);
    for (const tp of now.keys()) if (!next.has(tp) && !(record && firing.has(tp))) ops.push(trigger(`disable_event:${tp}`, ctx.params));
    if (record) ops.push(ENABLE);
    if (ctx.params['mark'] !== false) ops.push(trigger('stacktrace', ctx.params));
    return ops;
  },
};

export const BUILTIN_HANDLERS: readonly HandlerDefinition[] = [recordHandler, pidHandler, filterHandler, stackHandler, switchHandler, stopHandler, countHandler, sampleHandler, rateHandler, routeHandler, alertHandler, ...shippedBpfHandlers()];
