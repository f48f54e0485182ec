/**
 * Built-in handlers that exist only on the BPF engine: they keep state in the kernel (maps) rather
 * than records in a ring buffer. Each returns one `bpf` op; bpf/program.ts writes its C.
 */
import { bufferStopOps } from '../buffers/switch.js';
import { ParamError } from './params.js';
import type { HandlerDefinition } from './types.js';

/** A comma list of field names ("pid,id"). */
export function fieldList(raw: string, what: string): string[] {
  const names = raw.split(',').map((s) => s.trim());
  for (const n of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new ParamError(`${what}=${raw}: expected field names separated by commas (e.g. pid,id)`);
  return names;
}

export const countHandler: HandlerDefinition = {
  name: 'count',
  description: 'count the event per key in the kernel (BPF), no record per event; hist=FIELD: a log2 histogram of FIELD per key',
  params: {
    by: { type: 'string', required: true, description: 'the key: fields of the event, comma-separated (pid: the current process)' },
    hist: { type: 'string', description: 'a numeric field: count per power-of-2 bucket of its value' },
  },
  apply(ctx) {
    const by = fieldList(ctx.params['by'] as string, 'by');
    if (by.length > 8) throw new ParamError(`by=${ctx.params['by'] as string}: at most 8 fields`);
    const hist = ctx.params['hist'] as string | undefined;
    if (hist !== undefined) fieldList(hist, 'hist');
    return [{ kind: 'bpf', handler: 'count', params: { by: by.join(','), ...(hist ? { hist } : {}) } }];
  },
};

export const sampleHandler: HandlerDefinition = {
  name: 'sample',
  description: 'record one event in N per CPU (BPF, into the buffer bpf)',
  params: { every: { type: 'int', required: true, description: 'record every Nth event of each CPU' } },
  apply(ctx) {
    const every = ctx.params['every'] as number;
    if (every < 1) throw new ParamError('every=0: give a whole number of 1 or more');
    return [{ kind: 'bpf', handler: 'record', params: { every } }];
  },
};

export const rateHandler: HandlerDefinition = {
  name: 'rate',
  description: 'record at most N events per CPU per second (BPF, into the buffer bpf); the rest are counted, not recorded',
  params: { max: { type: 'int', required: true, description: 'events per CPU per second' } },
  apply: (ctx) => [{ kind: 'bpf', handler: 'record', params: { max: ctx.params['max'] as number } }],
};

/**
 * LKST 1.3's per-process buffers, decided per event in the kernel: the events of these processes
 * (threads or processes; with follow, their children too) are recorded into the trace's buffer NAME
 * instead of bpf; the pid set is a map `lkst handler set` changes while the recording runs.
 */
export const routeHandler: HandlerDefinition = {
  name: 'route',
  description: "record some processes' events into their own buffer of the trace (BPF; the pid set changeable live)",
  params: {
    buffer: { type: 'buffer', required: true, description: 'the buffer of the trace their events go to' },
    pids: { type: 'int-list', required: true, description: 'process ids, comma-separated' },
    follow: { type: 'bool', default: 'false', description: 'children forked later join the set' },
  },
  apply(ctx) {
    const buffer = ctx.params['buffer'] as string;
    if (buffer === 'bpf') throw new ParamError('buffer=bpf is where records that are not routed go: name another');
    return [{ kind: 'bpf', handler: 'route', params: { buffer, pids: ctx.params['pids'] as number[], follow: ctx.params['follow'] === true } }];
  },
};

/** Tells user space at the event (`lkst watch`), and can stop a buffer of handlers on BPF at that moment. */
export const alertHandler: HandlerDefinition = {
  name: 'alert',
  description: 'notify user space when the event fires (lkst watch; BPF); freeze=BUFFER stops that buffer of BPF records there',
  params: {
    if: { type: 'filter', description: 'alert only when this holds (FIELD OP NUMBER, FIELD == "TEXT", && and ||)' },
    freeze: { type: 'buffer', description: 'stop this buffer (bpf, or a route buffer=) at the alert' },
    record: { type: 'bool', default: 'false', description: 'record the event too (into the frozen buffer, else bpf): the buffer then ends with it' },
    stop: { type: 'buffer', description: 'stop this ftrace buffer (lkst buffer create) at the alert, in the kernel: a traceoff trigger on its instance with the same condition' },
  },
  apply(ctx) {
    const cond = ctx.params['if'];
    const freeze = ctx.params['freeze'];
    const stop = ctx.params['stop'];
    const params = { ...(typeof cond === 'string' ? { if: cond } : {}), ...(typeof freeze === 'string' ? { freeze } : {}), ...(ctx.params['record'] === true ? { record: true } : {}) };
    // The simple forms alert takes are the kernel's filter syntax too, so the trigger fires on the same events.
    return [{ kind: 'bpf', handler: 'alert', params }, ...(typeof stop === 'string' ? bufferStopOps(stop, typeof cond === 'string' ? { condition: cond } : {}) : [])];
  },
};
