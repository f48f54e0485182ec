import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeRecords, type MergeInput } from '../../src/ringbuf/merge.js';
import { countRecords, forEachRecord } from '../../src/ringbuf/page.js';
import { fixtureText, pageCapture, pageOffsets, parseReportLine, rawPages, usecStamp } from './fixtures.js';

const cap = pageCapture();
const inputs = (): MergeInput[] => cap.cpus.map((cpu) => ({ chunks: [rawPages(cpu)], pageSize: cap.pageSize }));

function recordsOf(raw: Buffer): number {
  return pageOffsets(raw, cap.pageSize).reduce((n, off) => n + countRecords(raw, off, cap.pageSize), 0);
}

test("the merge gives every CPU's records in trace-cmd's order, with the lost events where trace-cmd marks them", () => {
  // lkst.dat holds these very pages: trace-cmd's report of it is the expected order.
  const expected: string[] = [];
  for (const line of fixtureText('lkst.report.txt').split('\n')) {
    const drop = /CPU:(\d+) \[(?:(\d+) )?EVENTS DROPPED\]/.exec(line);
    if (drop) expected.push(`cpu ${drop[1]} lost ${drop[2] ?? -1}`);
    const ev = parseReportLine(line);
    if (ev) expected.push(`cpu ${ev.cpu} at ${ev.stamp}`);
  }
  const got: string[] = [];
  const n = mergeRecords(inputs(), (input, ts, _buf, _off, _len, missed) => {
    if (missed !== 0) got.push(`cpu ${cap.cpus[input]} lost ${missed}`);
    got.push(`cpu ${cap.cpus[input]} at ${usecStamp(ts)}`);
  });
  assert.equal(n, cap.cpus.reduce((s, cpu) => s + recordsOf(rawPages(cpu)), 0), 'every record once');
  assert.ok(got.some((g) => g.includes('lost')), 'the fixture has lost events');
  assert.deepEqual(got, expected);
});

test('records with equal times come out in input order', () => {
  const raw = rawPages(cap.cpus[0]!);
  const times: number[] = [];
  for (const off of pageOffsets(raw, cap.pageSize)) forEachRecord(raw, off, cap.pageSize, (ts) => times.push(ts));
  const seen: string[] = [];
  mergeRecords(
    [0, 1].map(() => ({ chunks: [raw], pageSize: cap.pageSize })),
    (input, ts) => {
      seen.push(`${ts}/${input}`);
    },
  );
  // The same pages twice, so every time is a tie: a stable sort of input 0's records then input 1's.
  const both = [...times.map((ts) => ({ ts, input: 0 })), ...times.map((ts) => ({ ts, input: 1 }))];
  assert.deepEqual(
    seen,
    both.sort((a, b) => a.ts - b.ts).map((r) => `${r.ts}/${r.input}`),
  );
  assert.ok(times.length > 100);
});

test('returning false stops the merge at that record', () => {
  let calls = 0;
  const n = mergeRecords(inputs(), () => ++calls < 10);
  assert.equal(n, 10);
  assert.equal(calls, 10);
});

test('a page that cannot be decoded is skipped and reported, the rest still merged', () => {
  const raw = Buffer.from(rawPages(cap.cpus[0]!));
  const lostPage = countRecords(raw, cap.pageSize, cap.pageSize);
  raw.writeUInt32LE(cap.pageSize, cap.pageSize + 8); // page 1's commit runs past its end
  const corrupt: string[] = [];
  const n = mergeRecords([{ chunks: [raw], pageSize: cap.pageSize }], () => undefined, { onCorruptPage: (input, page) => corrupt.push(`${input}:${page}`) });
  assert.deepEqual(corrupt, ['0:1']);
  assert.equal(n, recordsOf(rawPages(cap.cpus[0]!)) - lostPage);
});
