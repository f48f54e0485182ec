// Overlapping PT_LOAD segments: QEMU's paging dump (one segment per virtual mapping) of a crashed
// Debian 6.1 guest recovers exactly what the plain ELF dump of the same moment does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDump } from '../../src/crash/open.js';
import { recoverFromDump, type Recovery } from '../../src/crash/recover.js';
import { assertCountsMatchGuest, assertNonces, loadSegments, markers } from './checks.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';

const kernel = fetchKernel('6.1');
const skip = 'skip' in kernel ? kernel.skip : false;

describe('overlapping ELF segments (QEMU paging dump of a crashed 6.1 guest)', { skip }, () => {
  let g: CrashedGuest;
  let plain: Recovery;
  let paging: Recovery;
  before(async () => {
    g = await crashedGuest((kernel as { dir: string }).dir, { kaslr: true, formats: ['elf', 'elf-paging'] });
    plain = recoverFromDump(g.dumps.elf!);
    paging = recoverFromDump(g.dumps['elf-paging']!);
  });
  after(() => {
    plain?.close();
    paging?.close();
    g?.cleanup();
  });

  test('the paging dump overlaps: some physical page is in more than one segment', () => {
    const segs = loadSegments(g.dumps['elf-paging']!).sort((a, b) => a.paddr - b.paddr);
    assert.ok(segs.length > 2, `${segs.length} PT_LOAD segments`);
    assert.ok(segs.some((s, i) => i > 0 && s.paddr < segs[i - 1].paddr + segs[i - 1].fileSize), 'segments overlap');
  });

  test('every byte a segment covers reads back, equal to the plain dump', () => {
    const mem = openDump(g.dumps['elf-paging']!);
    const ref = openDump(g.dumps.elf!);
    try {
      for (const { paddr: pa, fileSize: size } of loadSegments(g.dumps['elf-paging']!)) {
        if (size === 0) continue;
        for (const at of [pa, pa + size - 1]) {
          const got = mem.read(at, 1);
          assert.ok(got, `0x${at.toString(16)} of a segment reads (${mem.lastMiss})`);
          assert.deepEqual(got, ref.read(at, 1), `0x${at.toString(16)} equals the plain dump`);
        }
      }
    } finally {
      mem.close();
      ref.close();
    }
  });

  test('recover gives the same events from both dumps, and the guest\'s own per-CPU counts', () => {
    assertCountsMatchGuest(plain, g);
    assertCountsMatchGuest(paging, g);
    assertNonces(paging, g);
    for (const b of plain.buffers) assert.deepEqual(markers(paging, b.name), markers(plain, b.name), `buffer ${b.name}`);
    assert.equal(paging.summary.kaslrOffset, plain.summary.kaslrOffset);
    assert.deepEqual(paging.summary.warnings, []);
  });
});
