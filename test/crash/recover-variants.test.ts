// End to end on other machine and kernel shapes: KASLR off with 5-level paging (6.1), and 6.12.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeRecovery } from '../../src/crash/command.js';
import { recoverFromDump } from '../../src/crash/recover.js';
import { assertCountsMatchGuest, assertNonces, markers } from './checks.js';
import { crashedGuest, fetchKernel } from './guest.js';

const k61 = fetchKernel('6.1');
const k612 = fetchKernel('6.12');

describe('lkst recover on other machine and kernel shapes', () => {
  test('6.1 with KASLR off and 5-level paging (la57)', { skip: 'skip' in k61 ? k61.skip : false }, async () => {
    const g = await crashedGuest((k61 as { dir: string }).dir, { kaslr: false, la57: true });
    try {
      const rec = recoverFromDump(g.dumps.elf!);
      assert.equal(rec.summary.kaslrOffset, 0n);
      assert.equal(rec.summary.pagingLevels, 5);
      assertNonces(rec, g);
      assertCountsMatchGuest(rec, g);
      assert.deepEqual(rec.summary.warnings, []);
    } finally {
      g.cleanup();
    }
  });

  test('a 1 GiB guest with every event on and 32 MiB per CPU, wrapped: exact counts, a format for every event', { skip: 'skip' in k61 ? k61.skip : false }, async () => {
    const g = await crashedGuest((k61 as { dir: string }).dir, { kaslr: true, mode: 'big', memMiB: 1024, timeoutMs: 150_000 });
    try {
      const rec = recoverFromDump(g.dumps.elf!);
      try {
        assertCountsMatchGuest(rec, g);
        assert.ok([...g.stats.get('top')!.values()].some((s) => s.overrun > 0), 'the big buffer wrapped');
        assert.ok(rec.formats.length > 100, `formats of many events (${rec.formats.length})`);
        assert.deepEqual(rec.summary.warnings, []);
      } finally {
        rec.close();
      }
    } finally {
      g.cleanup();
    }
  });

  test('6.12 (other struct layouts, 16 KiB sub-buffers) with KASLR on', { skip: 'skip' in k612 ? k612.skip : false }, async (t) => {
    const g = await crashedGuest((k612 as { dir: string }).dir, { kaslr: true, formats: ['elf', 'kdump-zlib'] });
    try {
      const rec = recoverFromDump(g.dumps.elf!);
      assert.match(rec.summary.osrelease, /^6\.12\./);
      const sub = rec.buffers.find((b) => b.name === 'lkst3');
      assert.equal(sub?.meta.pageSize, 16384, '16 KiB sub-buffers');
      assert.ok(markers(rec, 'lkst3').includes(`lkst-sub-nonce=${g.nonce}`));
      // The kernel picks the offset; it may pick 0 (it did once here). The nonces and exact
      // counts below are what prove the addresses were translated.
      if (rec.summary.kaslrOffset === 0n) t.diagnostic('the guest kernel chose KASLR offset 0 on this boot');
      assertNonces(rec, g);
      assertCountsMatchGuest(rec, g);
      assert.deepEqual(rec.summary.warnings, []);
      const kd = recoverFromDump(g.dumps['kdump-zlib']!);
      assertCountsMatchGuest(kd, g);
      if (existsSync('/usr/bin/trace-cmd')) {
        const out = join(g.dir, 'rec612.dat');
        await writeRecovery(rec, out);
        const rep = execFileSync('trace-cmd', ['report', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
        assert.match(rep, new RegExp(`lkst-nonce=${g.nonce}`));
        assert.match(rep, new RegExp(`lkst3: .*lkst-sub-nonce=${g.nonce}`));
      }
    } finally {
      g.cleanup();
    }
  });
});
