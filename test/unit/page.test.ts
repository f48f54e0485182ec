import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordType } from '../../src/ringbuf/fields.js';
import { CorruptPageError, forEachRecord, readPageHeader } from '../../src/ringbuf/page.js';
import { fixtureFormats, fixtureText, overrun, pageCapture, pageOffsets, rawPages, usecStamp } from './fixtures.js';

const cap = pageCapture();

const pagesOf = (raw: Buffer): number[] => pageOffsets(raw, cap.pageSize);

test("decoded pages give the kernel's own records at the kernel's times, across time extends", () => {
  let total = 0;
  for (const cpu of cap.cpus) {
    const kernel = fixtureText('pages', `cpu${cpu}.trace`)
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => /\s(\d+\.\d{6}):/.exec(l)?.[1])
      .filter((s): s is string => s !== undefined);
    const raw = rawPages(cpu);
    const ours: string[] = [];
    for (const off of pagesOf(raw)) forEachRecord(raw, off, cap.pageSize, (ts) => ours.push(usecStamp(ts)));
    assert.ok(kernel.length > 100, `CPU ${cpu}: the kernel printed ${kernel.length} records`);
    assert.deepEqual(ours, kernel, `CPU ${cpu}: same records at the same times`);
    total += ours.length;
  }
  assert.ok(total > 500, `decoded ${total} records`);
});

test('the first page read after an overrun carries the lost-events flag and the count the kernel gives as overrun', () => {
  let stored = 0;
  for (const cpu of cap.cpus) {
    const raw = rawPages(cpu);
    const heads = pagesOf(raw).map((off) => readPageHeader(raw, off));
    assert.ok(overrun(cpu) > 0, `CPU ${cpu}: the ${cap.bufferKb} KB buffer overran`);
    assert.equal(heads[0]!.missedEvents, true, `CPU ${cpu}: first page flagged`);
    if (heads[0]!.missedCount >= 0) {
      assert.equal(heads[0]!.missedCount, overrun(cpu), `CPU ${cpu}: stored count`);
      stored++;
    }
    assert.deepEqual(
      heads.slice(1).filter((h) => h.missedEvents),
      [],
      `CPU ${cpu}: no later page lost events (tracing was off while they were read)`,
    );
  }
  assert.ok(stored > 0, 'at least one page stores its lost count');
});

test('every record is an event whose format was captured', () => {
  const ids = new Set(fixtureFormats().map((f) => f.id));
  const seen = new Set<number>();
  for (const cpu of cap.cpus) {
    const raw = rawPages(cpu);
    for (const off of pagesOf(raw)) forEachRecord(raw, off, cap.pageSize, (_ts, dataOff) => seen.add(recordType(raw, dataOff)));
  }
  assert.deepEqual([...seen].filter((id) => !ids.has(id)), []);
  assert.ok(seen.size >= 10, `only ${seen.size} kinds of events`);
});

test('a page whose commit runs past the page end is refused, not read beyond it', () => {
  const page = Buffer.from(rawPages(cap.cpus[0]!).subarray(0, cap.pageSize));
  page.writeUInt32LE(cap.pageSize, 8); // commit length: a whole page of data after the 16-byte header
  assert.throws(() => forEachRecord(page, 0, cap.pageSize, () => undefined), CorruptPageError);
});

test('a record cut by the commit length is refused as corrupt', () => {
  const page = Buffer.from(rawPages(cap.cpus[0]!).subarray(0, cap.pageSize));
  let firstEnd = 0;
  forEachRecord(page, 0, cap.pageSize, (_ts, off, len) => {
    if (!firstEnd) firstEnd = off + len;
  });
  page.writeUInt32LE(firstEnd - 16 - 2, 8); // the commit ends two bytes inside the first record
  assert.throws(() => forEachRecord(page, 0, cap.pageSize, () => undefined), CorruptPageError);
});

test('a length word of 2^31 or more is refused, not wrapped negative into a loop', () => {
  for (const lenWord of [0x80000000, 0xfffffff0, 0xffffffff, 3, 0]) {
    const page = Buffer.from(rawPages(cap.cpus[0]!).subarray(0, cap.pageSize));
    // The first record made a large record (type_len 0) whose length word is lenWord.
    page.writeUInt32LE(page.readUInt32LE(16) & ~31, 16);
    page.writeUInt32LE(lenWord, 20);
    let visited = 0;
    assert.throws(
      () => forEachRecord(page, 0, cap.pageSize, () => visited++),
      (e: unknown) => e instanceof CorruptPageError && /length word/.test(e.message),
      `length word ${lenWord}`,
    );
    assert.equal(visited, 0);
  }
});
