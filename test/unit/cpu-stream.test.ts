// chunksFrom (resumed walks) of plain and compressed CPU streams (a plain one built on chunkAt, the viewer's windows):
// from any page it gives exactly the pages chunks() gives from there, and for a compressed
// stream it decompresses no compressed chunk before the page's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { openTraceDat } from '../../src/file/reader.js';
import { compressedCpuStream } from '../../src/file/cpu-stream.js';
import { decompressorFor } from '../../src/file/compression.js';
import { FileSource } from '../../src/file/source.js';
import { fixture } from './fixtures.js';

const concat = (it: Iterable<Buffer>) => Buffer.concat([...it].map((b) => Buffer.from(b)));

for (const [name, compression] of [
  ['lkst', 'none'],
  ['trace-cmd', 'zstd'],
] as const) {
  test(`chunksFrom(page) of ${name}.dat (compression ${compression}) gives the pages chunks() gives from that page, at chunk edges, inside chunks and past the end`, () => {
    const tf = openTraceDat(fixture(`${name}.dat`));
    try {
      assert.equal(tf.compression, compression);
      let checked = 0;
      for (const b of tf.buffers) {
        for (const s of b.cpus) {
          if (!s.size || !s.chunksFrom || !s.chunkAt) continue;
          const all = concat(s.chunks());
          const pages = all.length / s.pageSize;
          const edges: number[] = [];
          for (let i = 0, at = 0, c = s.chunkAt(0); c; c = s.chunkAt(++i)) edges.push((at += c.length / s.pageSize));
          const at = new Set([0, 1, Math.floor(pages / 2), pages - 1, pages, pages + 3, ...edges.flatMap((e) => [e - 1, e, e + 1])].filter((p) => p >= 0));
          for (const p of at) {
            assert.ok(concat(s.chunksFrom(p)).equals(all.subarray(Math.min(p, pages) * s.pageSize)), `CPU ${s.cpu} from page ${p} of ${pages}`);
            checked++;
          }
        }
      }
      assert.ok(checked > 10, `${checked} starting pages checked`);
    } finally {
      tf.close();
    }
  });
}

test('a compressed stream of many runs: chunksFrom from any page equals chunks() from there, and decompresses no chunk before its own', () => {
  // The fixture's real kernel pages, repeated past several runs and compressed as trace-cmd lays
  // out a CPU's data (u32 chunk count; per chunk u32 compressed size, u32 size, zlib data of 10 pages).
  const tf = openTraceDat(fixture('lkst.dat'));
  const dir = mkdtempSync(join(tmpdir(), 'lkst-unit-'));
  try {
    const s = tf.buffers.flatMap((b) => b.cpus).find((c) => c.size > 0)!;
    const real = concat(s.chunks());
    const pages = Buffer.concat(Array.from({ length: Math.ceil((20 << 20) / real.length) }, () => real));
    const chunk = 10 * s.pageSize;
    const parts: Buffer[] = [];
    for (let at = 0; at < pages.length; at += chunk) {
      const raw = pages.subarray(at, at + chunk);
      const z = deflateSync(raw);
      const head = Buffer.alloc(8);
      head.writeUInt32LE(z.length, 0);
      head.writeUInt32LE(raw.length, 4);
      parts.push(head, z);
    }
    const count = Buffer.alloc(4);
    count.writeUInt32LE(parts.length / 2, 0);
    const path = join(dir, 'cpu0.z');
    const body = Buffer.concat([count, ...parts]);
    writeFileSync(path, body);
    const src = FileSource.open(path);
    let inflated = 0;
    const zlib = decompressorFor('zlib', path)!;
    const counting = { ...zlib, many: (blocks: Parameters<typeof zlib.many>[0], raw: number) => ((inflated += blocks.length), zlib.many(blocks, raw)) };
    const z = compressedCpuStream(src, 0, 0, body.length - 4, s.pageSize, counting, []);
    assert.ok(z.runs && z.runs.length > 2, `${z.runs?.length} runs`);
    const n = pages.length / s.pageSize;
    const runs = z.runs;
    const chunks = runs.reduce((a, r) => a + r.chunks.length, 0);
    let start = 0;
    for (const run of runs) {
      for (const p of [start - 1, start, start + 1].filter((x) => x >= 0 && x <= n)) {
        inflated = 0;
        assert.ok(concat(z.chunksFrom!(p)).equals(pages.subarray(p * s.pageSize)), `from page ${p} of ${n}`);
        // From the compressed chunk (10 pages) that holds the page.
        const expected = p >= n ? 0 : chunks - Math.floor(p / 10);
        assert.equal(inflated, expected, `chunks decompressed from page ${p}`);
      }
      start += run.raw / s.pageSize;
    }
    src.close();
  } finally {
    tf.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
