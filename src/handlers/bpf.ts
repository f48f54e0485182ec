/**
 * Built-in handlers that exist only on the BPF engine: they keep state in the kernel (maps) rather
 * than records in a ring buffer. Each returns one `bpf` op; bpf/program.ts writes its C.
 */
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
