/** Worker thread body of summaryInWorker (summary.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { withTrace } from '../analysis/open.js';
import { summaryJson } from './summary.js';

const { path, buffers, until } = workerData as { path: string; buffers: string[]; until?: number };
try {
  const json = await withTrace({ path, buffers }, (t) => summaryJson(t, until));
  parentPort!.postMessage({ json });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).message });
}
