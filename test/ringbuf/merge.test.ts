import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeRecords, type MergeInput } from '../../src/ringbuf/merge.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { capture } from '../helpers/capture.js';

/** Each page's records in page order: [ts, offset in the source]. */
function recordsOf(source: Buffer, pageSize: number): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p + pageSize <= source.length; p += pageSize) forEachRecord(source, p, pageSize, (ts, off) => out.push([ts, off]));
  return out;
}

test('mergeRecords: every record of every CPU once, in time order, each CPU in its own order', async () => {
  const cap = await capture();
  const pageSize = cap.meta.pageSize;
  const cpus = cap.cpus.filter((c) => c.source.length > 0);
  assert.ok(cpus.length > 0);
  // Chunks of a few pages, so records cross chunk boundaries as they do when read from a file.
  const inputs: MergeInput[] = cpus.map((c) => {
    const chunks: Buffer[] = [];
    for (let p = 0; p < c.source.length; p += 3 * pageSize) chunks.push(c.source.subarray(p, Math.min(c.source.length, p + 3 * pageSize)));
    return { chunks, pageSize };
  });
  const perCpu = cpus.map((c) => recordsOf(c.source, pageSize).map(([ts]) => ts));
  const seen: number[][] = cpus.map(() => []);
  let last = -Infinity;
  const n = mergeRecords(inputs, (input, ts, buf, off, len) => {
    assert.ok(ts >= last, `time went back: ${ts} after ${last}`);
    assert.ok(len > 0 && off + len <= buf.length);
    last = ts;
    seen[input]!.push(ts);
  });
  assert.equal(n, perCpu.reduce((s, r) => s + r.length, 0));
  assert.ok(n > 10, `only ${n} records captured`);
  seen.forEach((s, i) => assert.deepEqual(s, perCpu[i]));
});

test('mergeRecords: equal times keep input order; returning false stops', async () => {
  const cap = await capture();
  const pageSize = cap.meta.pageSize;
  const c = cap.cpus.find((x) => x.source.length > 0)!;
  // The same pages twice: every record ties with its copy, and the first input must come first.
  const order: { input: number; ts: number }[] = [];
  const n = mergeRecords(
    [
      { chunks: [c.source], pageSize },
      { chunks: [c.source], pageSize },
    ],
    (input, ts) => void order.push({ input, ts }),
  );
  assert.equal(n, 2 * recordsOf(c.source, pageSize).length);
  // Records of one time (a page may hold several at one ts): all of input 0's before input 1's.
  const byTs = new Map<number, number[]>();
  for (const o of order) byTs.set(o.ts, [...(byTs.get(o.ts) ?? []), o.input]);
  for (const [ts, inputs] of byTs) assert.deepEqual(inputs, [...inputs].sort((a, b) => a - b), `records at ${ts}`);
  assert.ok([...byTs.values()].every((v) => v.filter((i) => i === 0).length === v.filter((i) => i === 1).length));
  let visited = 0;
  const stopped = mergeRecords([{ chunks: [c.source], pageSize }], () => ++visited < 5);
  assert.equal(stopped, 5);
  assert.equal(visited, 5);
});
