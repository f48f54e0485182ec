/**
 * User handler modules run in a worker thread with a time limit: loading one and each apply() call
 * wait at most the limit, so a module that loops forever (at load or in apply) is cut off with an
 * error naming it instead of hanging every lkst command. Calls stay synchronous (compiling a
 * maskset is): the main thread sleeps on a shared word until the worker answers or time runs out.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { LkstError } from '../base/errors.js';
import type { HandlerContext, KernelOp } from './types.js';

/** Time a handler module gets to load and for each apply(): LKST_HANDLER_TIMEOUT_MS, 5 s by default. */
export function handlerTimeoutMs(): number {
  const v = Number(process.env['LKST_HANDLER_TIMEOUT_MS']);
  return Number.isFinite(v) && v > 0 ? v : 5000;
}

export interface LoadedShape {
  readonly name?: unknown;
  readonly description?: unknown;
  readonly params?: unknown;
  readonly hasApply: boolean;
}

type Reply = { type: 'loaded'; shape: LoadedShape | null } | { type: 'applied'; ops: KernelOp[] | null } | { type: 'error'; message: string } | { type: 'recordedBy'; maskset: string };

const NAP = new Int32Array(new SharedArrayBuffer(4));

/** One module in its own worker. */
export class IsolatedModule {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly shared = new Int32Array(new SharedArrayBuffer(8));
  private dead = false;
  private busy = false;
  /** For an apply() asked for while this one waits on recordedBy (which compiles, and may call it again). */
  private spare: IsolatedModule | undefined;

  private constructor(readonly path: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { port: port2, shared: this.shared }, transferList: [port2] });
    this.worker.on('error', () => (this.dead = true));
    this.worker.unref();
    this.port.unref();
  }

  /** Loads a module; the shape is what it exports (checked by the caller). */
  static load(path: string): { module: IsolatedModule; shape: LoadedShape | null } {
    const m = new IsolatedModule(path);
    const r = m.call({ type: 'load', path }, 'load', () => new Map());
    if (r.type === 'error') {
      m.close();
      throw new LkstError(`cannot load handler ${path} (${r.message})`, 'a handler may import only node: modules and types');
    }
    return { module: m, shape: r.type === 'loaded' ? r.shape : null };
  }

  /** Runs the module's apply() in its worker. */
  apply(ctx: HandlerContext): KernelOp[] {
    if (this.busy) {
      this.spare ??= IsolatedModule.load(this.path).module;
      return this.spare.apply(ctx);
    }
    const { recordedBy, ...data } = ctx;
    this.busy = true;
    let r: Reply;
    try {
      r = this.call({ type: 'apply', ctx: data }, 'apply()', recordedBy);
    } finally {
      this.busy = false;
    }
    if (r.type === 'error') throw new Error(r.message);
    return r.type === 'applied' && Array.isArray(r.ops) ? r.ops : [];
  }

  close(): void {
    this.dead = true;
    this.spare?.close();
    void this.worker.terminate();
  }

  private call(req: unknown, what: string, recordedBy: HandlerContext['recordedBy']): Reply {
    if (this.dead) throw new LkstError(`handler ${this.path} was stopped earlier`, 'fix it or remove it with `lkst handler remove NAME`');
    const limit = handlerTimeoutMs();
    const deadline = Date.now() + limit;
    Atomics.store(this.shared, 0, 0);
    this.port.postMessage(req);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.shared, 0, 0, left) === 'timed-out') {
        this.close();
        throw new LkstError(`handler ${this.path}: ${what} did not finish within ${limit} ms (it loops or waits)`, `fix it or remove it with \`lkst handler remove NAME\`; LKST_HANDLER_TIMEOUT_MS changes the limit`);
      }
      const msg = receiveMessageOnPort(this.port)?.message as Reply | undefined;
      if (!msg) {
        Atomics.wait(NAP, 0, 0, 1); // signalled before the message landed: look again shortly
        continue;
      }
      Atomics.store(this.shared, 0, 0);
      if (msg.type !== 'recordedBy') return msg;
      // The handler asks what another maskset records: answered here, the worker waits for it.
      let reply: { entries?: [string, string][]; error?: string };
      try {
        reply = { entries: [...recordedBy(msg.maskset)] };
      } catch (err) {
        reply = { error: err instanceof LkstError ? err.message : String(err) };
      }
      this.port.postMessage(reply);
      Atomics.store(this.shared, 1, 1);
      Atomics.notify(this.shared, 1);
    }
  }
}
