// The kdump-compressed and flattened readers on small hand-built files (no QEMU needed).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { LkstError } from '../../src/crash/errors.js';
import { openDump } from '../../src/crash/open.js';

const B = 4096;
const dir = mkdtempSync(join(tmpdir(), 'lkstcrash-kdump-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pageA = Buffer.alloc(B, 0x61);
const pageC = Buffer.from(Array.from({ length: B }, (_, i) => i & 0xff));

/** pfn 0 zlib-compressed, pfn 1 present but filtered out, pfn 2 stored raw, pfn 3 absent. */
function kdumpFile(machine = 'x86_64'): Buffer {
  const head = Buffer.alloc(B);
  head.write('KDUMP   ', 0, 'latin1');
  head.writeInt32LE(6, 8);
  head.write(machine, 12 + 4 * 65, 'latin1');
  head.writeInt32LE(B, 428);
  head.writeInt32LE(1, 432); // sub-header blocks
  head.writeUInt32LE(2, 436); // bitmap blocks (two bitmaps of one block)
  head.writeUInt32LE(4, 440);
  const sub = Buffer.alloc(B);
  const vmcoreinfo = Buffer.from('OSRELEASE=6.1.0-test\nPAGESIZE=4096\n');
  const compressed = deflateSync(pageA);
  const descAt = B * 4;
  const dataAt = descAt + B;
  const viAt = dataAt + compressed.length + B;
  sub.writeBigInt64LE(BigInt(viAt), 32);
  sub.writeBigUInt64LE(BigInt(vmcoreinfo.length), 40);
  sub.writeBigUInt64LE(4n, 96);
  const present = Buffer.alloc(B);
  present[0] = 0b0111;
  const dumped = Buffer.alloc(B);
  dumped[0] = 0b0101;
  const descs = Buffer.alloc(B);
  descs.writeBigInt64LE(BigInt(dataAt), 0);
  descs.writeUInt32LE(compressed.length, 8);
  descs.writeUInt32LE(1, 12);
  descs.writeBigInt64LE(BigInt(dataAt + compressed.length), 24);
  descs.writeUInt32LE(B, 32);
  return Buffer.concat([head, sub, present, dumped, descs, compressed, pageC, vmcoreinfo]);
}

/** The same bytes as makedumpfile -F writes them: big-endian (offset, size) records, out of order. */
function flatten(file: Buffer, chunk: number): Buffer {
  const hdr = Buffer.alloc(B);
  hdr.write('makedumpfile', 0, 'latin1');
  hdr.writeBigInt64BE(1n, 16);
  hdr.writeBigInt64BE(1n, 24);
  const parts: Buffer[] = [hdr];
  const offs: number[] = [];
  for (let o = 0; o < file.length; o += chunk) offs.push(o);
  offs.reverse();
  for (const o of offs) {
    const rec = Buffer.alloc(16);
    const data = file.subarray(o, Math.min(file.length, o + chunk));
    rec.writeBigInt64BE(BigInt(o), 0);
    rec.writeBigInt64BE(BigInt(data.length), 8);
    parts.push(rec, data);
  }
  const end = Buffer.alloc(16, 0xff);
  return Buffer.concat([...parts, end]);
}

function check(path: string, format: string): void {
  const d = openDump(path);
  try {
    assert.equal(d.format, format);
    assert.match(d.vmcoreinfo ?? '', /^OSRELEASE=6\.1\.0-test\n/);
    assert.deepEqual(d.read(0, B), pageA);
    assert.deepEqual(d.read(2 * B + 100, 50), pageC.subarray(100, 150));
    assert.equal(d.read(B, 8), undefined);
    assert.equal(d.lastMiss, 'filtered');
    assert.equal(d.read(3 * B, 8), undefined);
    assert.equal(d.lastMiss, 'not in dump');
    assert.equal(d.read(B - 4, 8), undefined, 'a read that crosses into a filtered page');
    assert.deepEqual(d.ranges(), [[0, B], [2 * B, 3 * B]]);
  } finally {
    d.close();
  }
}

test('plain kdump-compressed: zlib and raw pages, filtered and absent pages told apart', () => {
  const p = join(dir, 'plain.kdump');
  writeFileSync(p, kdumpFile());
  check(p, 'kdump');
});

test('flattened kdump, records out of order and split across pages', () => {
  for (const chunk of [B, 1000, 333]) {
    const p = join(dir, `flat-${chunk}.kdump`);
    writeFileSync(p, flatten(kdumpFile(), chunk));
    check(p, 'kdump-flat');
  }
});

test('a kdump of another architecture is refused in one line', () => {
  const p = join(dir, 'arm.kdump');
  writeFileSync(p, kdumpFile('aarch64'));
  assert.throws(() => openDump(p), (e: unknown) => e instanceof LkstError && e.message === 'dump of another architecture (aarch64): lkst recovers x86_64 dumps only');
});

test('a truncated kdump reports the missing pages as truncated', () => {
  const whole = kdumpFile();
  const p = join(dir, 'cut.kdump');
  writeFileSync(p, whole.subarray(0, 5 * B + 10));
  const d = openDump(p);
  try {
    assert.equal(d.read(2 * B, 8), undefined);
    assert.equal(d.lastMiss, 'truncated');
  } finally {
    d.close();
  }
});

/** A kdump whose pfns 0..n-1 are all dumped, page i stored as given (flags 1: zlib, 0: raw). */
function runFile(pages: Array<{ data: Buffer; flags: number }>): Buffer {
  const head = Buffer.alloc(B);
  head.write('KDUMP   ', 0, 'latin1');
  head.writeInt32LE(6, 8);
  head.write('x86_64', 12 + 4 * 65, 'latin1');
  head.writeInt32LE(B, 428);
  head.writeInt32LE(1, 432);
  head.writeUInt32LE(2, 436);
  head.writeUInt32LE(pages.length, 440);
  const sub = Buffer.alloc(B);
  sub.writeBigUInt64LE(BigInt(pages.length), 96);
  const bitmap = Buffer.alloc(B);
  for (let i = 0; i < pages.length; i++) bitmap[i >> 3]! |= 1 << (i & 7);
  const descs = Buffer.alloc(B);
  let at = B * 5;
  pages.forEach((p, i) => {
    descs.writeBigInt64LE(BigInt(at), i * 24);
    descs.writeUInt32LE(p.data.length, i * 24 + 8);
    descs.writeUInt32LE(p.flags, i * 24 + 12);
    at += p.data.length;
  });
  return Buffer.concat([head, sub, bitmap, bitmap, descs, ...pages.map((p) => p.data)]);
}

test('a run of pages made ready at once reads as page by page: corrupt and oversized pages told apart, the pages after them intact', () => {
  const good = (n: number) => Buffer.from(Array.from({ length: B }, (_, i) => (i * n) & 0xff));
  const corrupt = deflateSync(good(3));
  corrupt.fill(0xff, 2, 40);
  const pages = [
    { data: deflateSync(good(1)), flags: 1 }, { data: deflateSync(good(2)), flags: 1 }, { data: corrupt, flags: 1 },
    { data: deflateSync(Buffer.alloc(2 * B, 7)), flags: 1 }, { data: good(5), flags: 0 }, { data: deflateSync(good(6)), flags: 1 },
  ];
  const p = join(dir, 'run.kdump');
  writeFileSync(p, runFile(pages));
  const seen = (prefetch: boolean) => {
    const d = openDump(p);
    try {
      if (prefetch) d.prefetch!(pages.map((_, i) => (pages.length - 1 - i) * B), B);
      return pages.map((_, i) => d.read(i * B, B) ?? d.lastMiss);
    } finally {
      d.close();
    }
  };
  const want = [good(1), good(2), 'corrupt page data', 'corrupt page data', good(5), good(6)];
  assert.deepEqual(seen(false), want);
  assert.deepEqual(seen(true), want);
  // Kept in the order they were asked for (here descending), one after another: a run is one piece of memory.
  const d = openDump(p);
  try {
    d.prefetch!([5 * B, 4 * B], B);
    const [a, b] = [d.read(5 * B, B)!, d.read(4 * B, B)!];
    assert.ok(a.buffer === b.buffer && a.byteOffset + B === b.byteOffset, 'pages 5 and 4 are adjacent in that order');
  } finally {
    d.close();
  }
});
