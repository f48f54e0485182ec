import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PageWriter } from '../../src/ringbuf/page-writer.js';
import { forEachRecord, PAGE_HEADER_SIZE, readPageHeader } from '../../src/ringbuf/page.js';
import { pageCapture, pageOffsets, rawPages } from './fixtures.js';

const cap = pageCapture();

interface Rec {
  ts: number;
  data: Buffer;
}

function decode(buf: Buffer, off: number, pageSize: number): Rec[] {
  const out: Rec[] = [];
  forEachRecord(buf, off, pageSize, (ts, d, n) => out.push({ ts, data: Buffer.from(buf.subarray(d, d + n)) }));
  return out;
}

/** Whether a kernel page holds only data records and time extends (no absolute stamps, no discarded records). */
function plainRecords(buf: Buffer, off: number): boolean {
  const end = off + PAGE_HEADER_SIZE + readPageHeader(buf, off).dataLen;
  for (let p = off + PAGE_HEADER_SIZE; p < end; ) {
    const w = buf.readUInt32LE(p);
    const t = w & 31;
    if (t === 0) p += 8 + buf.readUInt32LE(p + 4) - 4;
    else if (t <= 28) p += 4 + t * 4;
    else if (t === 30) p += 8;
    else return false;
  }
  return true;
}

test("the kernel's own pages, re-encoded record by record, decode to the same records; plain pages come out byte for byte", (t) => {
  let pages = 0;
  let identical = 0;
  let records = 0;
  for (const cpu of cap.cpus) {
    const raw = rawPages(cpu);
    for (const off of pageOffsets(raw, cap.pageSize)) {
      const head = readPageHeader(raw, off);
      const recs = decode(raw, off, cap.pageSize);
      if (!recs.length) continue;
      const out: Buffer[] = [];
      const w = new PageWriter(cap.pageSize, (p) => out.push(p));
      if (head.missedEvents && head.missedCount > 0) w.lost(head.missedCount);
      for (const r of recs) w.add(BigInt(r.ts), r.data);
      w.flush();
      assert.equal(out.length, 1, `CPU ${cpu} page at ${off}: one page in, one out`);
      assert.deepEqual(decode(out[0]!, 0, cap.pageSize), recs, `CPU ${cpu} page at ${off}: same records`);
      pages++;
      records += recs.length;
      // Byte identity needs the kernel's page time to be its first record's (delta 0) and plain records.
      const firstDelta = raw.readUInt32LE(off + PAGE_HEADER_SIZE) >>> 5;
      if (firstDelta === 0 && plainRecords(raw, off) && !head.missedEvents) {
        const used = PAGE_HEADER_SIZE + head.dataLen;
        assert.ok(out[0]!.subarray(0, used).equals(raw.subarray(off, off + used)), `CPU ${cpu} page at ${off}: same bytes`);
        identical++;
      }
    }
  }
  assert.ok(pages >= 5 && records > 500, `${pages} pages, ${records} records`);
  t.diagnostic(`${pages} pages, ${records} records; ${identical} pages compared byte for byte`);
  assert.ok(identical > 0, `${identical} of ${pages} pages compared byte for byte`);
});

test('records fill pages in order; long gaps become time extends; long records use the length word', () => {
  const pageSize = cap.pageSize;
  const out: Buffer[] = [];
  const w = new PageWriter(pageSize, (p) => out.push(p));
  const want: Rec[] = [];
  let ts = 1_000_000_000_000;
  for (let i = 0; i < 2000; i++) {
    // Gaps from 1 ns to ~3 s (2^27 ns is 134 ms), sizes 1..300 bytes (over the 112-byte compact limit).
    ts += i % 97 === 0 ? 3_000_000_000 + i : (i * 7919) % 5000;
    const data = Buffer.alloc(1 + ((i * 31) % 300), i & 0xff);
    data[data.length - 1] = (i * 13) & 0xff;
    w.add(BigInt(ts), data);
    want.push({ ts, data });
  }
  w.flush();
  assert.ok(out.length > 20, `${out.length} pages`);
  const got = out.flatMap((p) => decode(p, 0, pageSize));
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    assert.equal(g.ts, want[i]!.ts, `record ${i}: time`);
    // Data comes back padded to 4 bytes, as the kernel's does.
    assert.ok(g.data.subarray(0, want[i]!.data.length).equals(want[i]!.data), `record ${i}: data`);
    assert.ok(g.data.length - want[i]!.data.length < 4 && g.data.length >= 4);
  });
});

test("a loss marks the page that holds the next record with the kernel's flag and count", () => {
  const out: Buffer[] = [];
  const w = new PageWriter(cap.pageSize, (p) => out.push(p));
  w.add(10n, Buffer.alloc(8, 1));
  w.lost(12345);
  w.lost(5);
  w.add(20n, Buffer.alloc(8, 2));
  w.flush();
  assert.equal(out.length, 2);
  assert.deepEqual(readPageHeader(out[0]!, 0).missedEvents, false);
  const h = readPageHeader(out[1]!, 0);
  assert.equal(h.missedEvents, true);
  assert.equal(h.missedCount, 12350);
  assert.equal(decode(out[1]!, 0, cap.pageSize).length, 1);
});

test('a record too big for a page, or a time going backwards, is refused', () => {
  const w = new PageWriter(cap.pageSize, () => undefined);
  assert.throws(() => w.add(1n, Buffer.alloc(cap.pageSize)), /does not fit/);
  w.add(100n, Buffer.alloc(8));
  assert.throws(() => w.add(99n, Buffer.alloc(8)), /before the previous/);
});
