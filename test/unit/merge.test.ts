import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveMerge, mergeRecords, type MergeInput } from '../../src/ringbuf/merge.js';
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

/** Every record a merge visits, as text: input, time, place, loss. */
function visits(run: (visit: (input: number, ts: number, buf: Buffer, off: number, len: number, missed: number) => void) => void): string[] {
  const out: string[] = [];
  run((input, ts, _buf, off, len, missed) => void out.push(`${input} ${ts} ${off}/${len} ${missed}`));
  return out;
}

test('a live merge fed pages as they come gives what the merge of the whole gives, never past its bound', () => {
  const whole = visits((v) => mergeRecords(inputs(), v));
  const raws = cap.cpus.map((cpu) => rawPages(cpu));
  const pages = raws.map((raw) => pageOffsets(raw, cap.pageSize).map((off) => raw.subarray(off, off + cap.pageSize)));
  const lastTs = (page: Buffer) => {
    let t = -Infinity;
    forEachRecord(page, 0, cap.pageSize, (ts) => (t = ts));
    return t;
  };
  let bound = -Infinity;
  const got: string[] = [];
  const live = new LiveMerge(raws.length, cap.pageSize, (input, ts, _buf, off, len, missed) => {
    assert.ok(ts <= bound, `${ts} is past the bound ${bound}`);
    // Offsets are within the pushed chunk: make them the page's, as in the whole merge's single chunk.
    got.push(`${input} ${ts} ${off}/${len} ${missed}`);
  });
  // Rounds of 1, 2, 3... pages per CPU (chunks of several pages too); each CPU's pages are complete up
  // to its last pushed record, so everything up to the earliest of those is.
  const next = raws.map(() => 0);
  const afterRounds: number[] = [];
  const seen = raws.map(() => -Infinity);
  for (let round = 1; next.some((n, i) => n < pages[i]!.length); round++) {
    pages.forEach((list, i) => {
      const take = list.slice(next[i], next[i]! + round);
      if (!take.length) return;
      next[i]! += take.length;
      live.push(i, Buffer.concat(take));
      for (const p of take) seen[i] = Math.max(seen[i]!, lastTs(p));
    });
    bound = Math.min(...seen.map((t, i) => (next[i]! < pages[i]!.length ? t : Infinity)));
    live.emit(bound);
    afterRounds.push(got.length);
  }
  bound = Infinity;
  live.emit(Infinity);
  assert.ok(afterRounds.some((n) => n > 0 && n < got.length), `records came out in rounds: ${afterRounds}`);
  const strip = (v: string) => v.replace(/ \d+\/(\d+) /, ' $1 ');
  assert.deepEqual(got.map(strip), whole.map(strip));
  assert.equal(live.late, 0);
  assert.equal(live.latest, Math.max(...pages.map((l) => Math.max(...l.map(lastTs)))));
});
