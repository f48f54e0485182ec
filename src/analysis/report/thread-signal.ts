/**
 * What report's worker threads and the main thread share: the main thread merges synchronously, so
 * it sleeps on a shared counter the workers bump with each message, and every failure of a worker
 * must reach it as a message.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { LkstError } from '../../base/errors.js';

export interface Fault {
  input: number;
  error: { what: string; fix: string };
}

export function newSignal(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** Wakes the main thread after a message was posted. */
export function notify(signal: Int32Array): void {
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

export function faultOf(err: unknown): Fault['error'] {
  return err instanceof LkstError ? { what: err.what, fix: err.fix } : { what: (err as Error)?.message ?? String(err), fix: '' };
}

/**
 * The next message on any of the ports, waiting for one (a worker that says nothing for a minute
 * has died in a way it could not report). A fault is thrown as the worker's error.
 */
export function receiveAny<T extends { input: number }>(ports: readonly MessagePort[], signal: Int32Array, what: string, fix: string): T {
  for (let idle = 0; ; ) {
    const seen = Atomics.load(signal, 0);
    for (const port of ports) {
      const m = receiveMessageOnPort(port);
      if (!m) continue;
      const r = m.message as T | Fault;
      if ('error' in r && r.error) throw new LkstError(r.error.what, r.error.fix || fix);
      return r as T;
    }
    if (Atomics.wait(signal, 0, seen, 1000) === 'timed-out' && ++idle >= 60) {
      throw new LkstError(`the thread ${what} stopped answering`, fix);
    }
  }
}
