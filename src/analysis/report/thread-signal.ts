/**
 * What report's worker threads and the main thread share: the main thread merges synchronously, so
 * it sleeps on a shared counter the workers bump with each message, and every failure of a worker
 * must reach it as a message.
 */
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
