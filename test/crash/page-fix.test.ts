// Unit tests of the page adjustments made to recovered ring-buffer pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markLost, unreadPart } from '../../src/crash/page-fix.js';
import { forEachRecord, readPageHeader } from '../../src/ringbuf/page.js';

/** A page with records of 4 data bytes each (type_len 1), given time deltas and payloads. */
function page(base: bigint, records: Array<[delta: number, value: number]>, size = 4096): Buffer {
  const p = Buffer.alloc(size);
  p.writeBigUInt64LE(base, 0);
  let o = 16;
  for (const [delta, value] of records) {
    p.writeUInt32LE(((delta << 5) | 1) >>> 0, o);
    p.writeUInt32LE(value, o + 4);
    o += 8;
  }
  p.writeBigUInt64LE(BigInt(o - 16), 8);
  return p;
}

function decode(p: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  forEachRecord(p, 0, 4096, (ts, off) => out.push([ts, p.readUInt32LE(off)]));
  return out;
}

test('a half-read reader page keeps only the unread records, at their original times', () => {
  const p = page(1000n, [[5, 11], [7, 22], [9, 33]]);
  assert.deepEqual(decode(unreadPart(p, 4096, 8)!), [[1012, 22], [1021, 33]]);
  assert.equal(unreadPart(p, 4096, 24), undefined, 'fully read');
  assert.equal(unreadPart(p, 4096, 0), p, 'unread');
});

test('a wrapped CPU has its oldest page marked with the lost count when there is room', () => {
  const p = markLost(page(1n, [[1, 1]]), 4096, 205);
  const h = readPageHeader(p, 0);
  assert.equal(h.missedEvents, true);
  assert.equal(h.missedCount, 205);
  assert.deepEqual(decode(p), [[2, 1]]);
  const full = page(1n, Array.from({ length: 510 }, (_, i): [number, number] => [1, i]));
  const f = readPageHeader(markLost(full, 4096, 7), 0);
  assert.equal(f.missedEvents, true);
  assert.equal(f.missedCount, -1, 'no room for the count');
});
