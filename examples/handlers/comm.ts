/**
 * A user handler: record an event only for tasks whose command name matches a glob, and
 * optionally take the kernel stack for them too. Register it with
 *   lkst handler add examples/handlers/comm.ts
 * and use it in a maskset line:
 *   PROCESS_CONTEXTSWITCH  comm  name="sshd*"  stack=true
 */
import type { HandlerDefinition, KernelOp } from '../../src/handlers/types.js';

const comm: HandlerDefinition = {
  name: 'comm',
  description: 'record the event only for tasks whose command name matches a glob (optionally with kernel stacks)',
  params: {
    name: { type: 'string', required: true, description: 'command-name glob, e.g. sshd* (16 characters at most, as the kernel keeps them)' },
    stack: { type: 'bool', default: 'false', description: 'also record the kernel stack of each matching event' },
  },
  apply(ctx) {
    const glob = String(ctx.params['name']);
    if (glob.length > 16 || /["\\]/.test(glob)) throw new Error(`name=${glob}: at most 16 characters, no quotes or backslashes`);
    // COMM is the filter field every event has: the current task's command name.
    const match = `COMM ~ "${glob}"`;
    const ops: KernelOp[] = [{ kind: 'enable' }, { kind: 'filter', expr: match }];
    if (ctx.params['stack'] === true) ops.push({ kind: 'trigger', command: 'stacktrace', condition: match });
    return ops;
  },
};

export default comm;
