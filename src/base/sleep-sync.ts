/**
 * Blocks the thread for ms milliseconds. For the few places that must wait inside synchronous code
 * (an instance the kernel still holds busy, code patching settling, a full pipe), where an await
 * would let other work run in between.
 */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
