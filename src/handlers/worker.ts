/**
 * The worker thread a user handler module runs in (handlers/isolated.ts): it loads the module and
 * runs its apply(), so a module that loops, or throws at load, cannot hang or break lkst itself.
 * Requests arrive on the port; each answer is posted and then signalled on the shared word 0.
 * ctx.recordedBy is asked of the main thread: posted, then this thread waits on word 1.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

interface Setup {
  readonly port: MessagePort;
  readonly shared: Int32Array;
}

const { port, shared } = workerData as Setup;
let def: { apply?: (ctx: unknown) => unknown } | undefined;

function answer(msg: unknown): void {
  port.postMessage(msg);
  Atomics.store(shared, 0, 1);
  Atomics.notify(shared, 0);
}

function recordedBy(maskset: string): Map<string, string> {
  Atomics.store(shared, 1, 0);
  answer({ type: 'recordedBy', maskset });
  Atomics.wait(shared, 1, 0);
  const reply = receiveMessageOnPort(port)?.message as { entries?: [string, string][]; error?: string } | undefined;
  if (!reply || reply.error !== undefined) throw new Error(reply?.error ?? 'no answer from lkst');
  return new Map(reply.entries);
}

port.on('message', async (req: { type: 'load'; path: string } | { type: 'apply'; ctx: Record<string, unknown> }) => {
  try {
    if (req.type === 'load') {
      const mod = (await import(pathToFileURL(req.path).href)) as { default?: Record<string, unknown> };
      const d = mod.default;
      def = d as typeof def;
      // Data only crosses threads: apply stays here, its presence is checked there.
      const shape = d && typeof d === 'object' ? { name: d['name'], description: d['description'], params: d['params'], hasApply: typeof d['apply'] === 'function' } : undefined;
      answer({ type: 'loaded', shape: JSON.parse(JSON.stringify(shape ?? null)) });
      return;
    }
    const ops = def!.apply!({ ...req.ctx, recordedBy });
    answer({ type: 'applied', ops: JSON.parse(JSON.stringify(ops ?? null)) });
  } catch (err) {
    answer({ type: 'error', message: err instanceof Error ? err.message.split('\n')[0] : String(err) });
  }
});
