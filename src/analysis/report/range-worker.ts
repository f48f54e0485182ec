/**
 * Entry of a parallel report's worker thread: lowers its priority before anything else (loading the
 * renderer's modules included), then renders ranges (range-render.ts). Linux sets a thread's own
 * niceness: the worker takes what CPU is idle and leaves a busy machine to the main thread, which
 * renders every range a worker has not finished.
 */
import { setPriority } from 'node:os';

try {
  setPriority(0, 19);
} catch {
  // not allowed here: it runs at the process's priority
}
await import('./range-render.js');
