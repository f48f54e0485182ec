import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openTraceDat } from '../../src/file/reader.js';
import { LkstError } from '../../src/base/errors.js';
import { writeSmallFiles, type SmallFiles } from './small-files.js';

const ROUNDS_PER_FILE = 1200;

let dir: string;
let files: SmallFiles;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkst-fuzz-'));
  files = await writeSmallFiles(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small seeded generator, so a failing case can be replayed from its seed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
  };
}

/** Most structure sits in the first 64 KiB and the last 4 KiB; half the mutations aim there. */
function position(r: (n: number) => number, len: number): number {
  if (r(2) === 0) return r(len);
  return r(3) === 0 ? Math.max(0, len - 1 - r(4096)) : r(Math.min(len, 65536));
}

function mutate(orig: Buffer, r: (n: number) => number): { bytes: Buffer; how: string } {
  const b = Buffer.from(orig);
  switch (r(5)) {
    case 0: {
      const n = 1 + r(8);
      for (let i = 0; i < n; i++) b[position(r, b.length)] = r(256);
      return { bytes: b, how: `flip ${n} bytes` };
    }
    case 1: {
      // A size or offset word set to an extreme.
      const at = position(r, b.length - 8);
      const v = [0xffffffff, 0x7fffffff, 0, 1, 0x80000000][r(5)]!;
      b.writeUInt32LE(v, at);
      return { bytes: b, how: `u32 ${v} at ${at}` };
    }
    case 2: {
      const cut = position(r, b.length);
      return { bytes: b.subarray(0, cut), how: `truncate at ${cut}` };
    }
    case 3: {
      // Splice: a piece of the file copied over another place.
      const from = r(b.length);
      const to = position(r, b.length);
      const n = 1 + r(512);
      orig.copy(b, to, from, Math.min(from + n, orig.length));
      return { bytes: b, how: `splice ${n} bytes from ${from} to ${to}` };
    }
    default: {
      // Bytes removed or inserted: everything after shifts.
      const at = position(r, b.length);
      const n = 1 + r(64);
      const shifted = r(2) === 0 ? Buffer.concat([b.subarray(0, at), b.subarray(at + n)]) : Buffer.concat([b.subarray(0, at), orig.subarray(r(orig.length)).subarray(0, n), b.subarray(at)]);
      return { bytes: shifted, how: `shift ${n} at ${at}` };
    }
  }
}

/** Opens and reads everything a report would: every page chunk, the lookups. */
function readAll(path: string): void {
  const tf = openTraceDat(path);
  try {
    for (const b of tf.buffers) for (const s of b.cpus) for (const c of s.chunks()) assert.equal(c.length % s.pageSize, 0);
    void tf.kallsyms.lookup(0xffffffff81000000n);
    void tf.cmdlines.size;
    void tf.printkFormats.size;
    void tf.registry.all().length;
  } finally {
    tf.close();
  }
}

function fuzz(kind: keyof SmallFiles, rounds: number): void {
  const orig = readFileSync(files[kind]);
  const path = join(dir, `fuzz-${kind}.dat`);
  let opened = 0;
  let refused = 0;
  for (let seed = 1; seed <= rounds; seed++) {
    const { bytes, how } = mutate(orig, rng(seed * 7919 + kind.length));
    writeFileSync(path, bytes);
    try {
      readAll(path);
      opened++;
    } catch (e) {
      if (!(e instanceof LkstError)) assert.fail(`${kind} seed ${seed} (${how}): ${e instanceof Error ? e.stack : String(e)}`);
      assert.ok(!e.message.includes('\n'), `${kind} seed ${seed}: a one-line message`);
      refused++;
    }
  }
  assert.ok(opened > 0 && refused > 0, `${kind}: ${opened} opened, ${refused} refused`);
}

for (const kind of ['ours', 'zstd', 'v6'] as const) {
  test(`fuzz: ${ROUNDS_PER_FILE} mutated copies of a real ${kind} file either open or throw LkstError`, () => fuzz(kind, ROUNDS_PER_FILE));
}

test('fuzz: mutated zstd files through the zstd program either open or throw LkstError', (t) => {
  if (spawnSync('zstd', ['-V'], { stdio: 'ignore' }).status !== 0) return t.skip('the zstd program is not installed');
  process.env.LKST_ZSTD = 'cli';
  try {
    fuzz('zstd', 60);
  } finally {
    delete process.env.LKST_ZSTD;
  }
});
