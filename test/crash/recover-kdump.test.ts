// A real kdump: a Debian 6.1 guest with crashkernel= loads a crash kernel with kexec -p, traces and
// crashes; the crash kernel saves /proc/vmcore. lkst recovers the trace from that vmcore, and from
// what makedumpfile makes of it the way kdump-tools runs it (-c -d 31), as ELF (-E) and unfiltered.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { recoverFromDump } from '../../src/crash/recover.js';
import { kdumpGuest, type KdumpResult } from '../../scripts/crash/kdump-guest.js';
import { openTraceDat } from '../../src/file/reader.js';
import { lkst } from '../helpers/cli.js';
import { assertCountsMatchGuest, assertNonces, loadSegments } from './checks.js';
import { fetchKernel, type CrashedGuest } from './guest.js';

const scripts = fileURLToPath(new URL('../../../scripts/crash/', import.meta.url));
const kernel = fetchKernel('6.1');
const skip = 'skip' in kernel ? kernel.skip : false;

describe('lkst recover on a vmcore saved by a kexec crash kernel (Debian 6.1)', { skip }, () => {
  let dir: string;
  let r: KdumpResult;
  let g: CrashedGuest;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkstkdump-'));
    const initramfs = join(dir, 'initramfs.gz');
    execFileSync('sh', [join(scripts, 'make-kdump-initramfs.sh'), (kernel as { dir: string }).dir, initramfs], { stdio: ['ignore', 'ignore', 'pipe'] });
    const nonce = randomBytes(8).toString('hex');
    r = await kdumpGuest({ kernelDir: (kernel as { dir: string }).dir, initramfs, outDir: dir, nonce, kaslr: true });
    assert.ok(r.vmcore, `the crash kernel saved no vmcore; serial console:\n${r.serial.slice(-3000)}`);
    // The shape the shared checks take; dumps of their own are not used here.
    g = { serial: r.serial, panicked: true, dumps: {}, dumpErrors: {}, stats: r.stats, nonce, dir, kernelDir: (kernel as { dir: string }).dir, cleanup: () => undefined };
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the vmcore has the kernel-text segment inside a RAM segment, and recovers the guest\'s exact counts', () => {
    const segs = loadSegments(r.vmcore!).map((s) => [s.paddr, s.paddr + s.memSize]);
    assert.ok(segs.some(([s, e], i) => segs.some(([s2, e2], j) => j !== i && s >= s2 && e <= e2)), `a segment lies inside another: ${JSON.stringify(segs)}`);
    const rec = recoverFromDump(r.vmcore!);
    try {
      assert.equal(rec.summary.format, 'elf');
      assertCountsMatchGuest(rec, g);
      assertNonces(rec, g);
      assert.deepEqual(rec.summary.warnings, []);
      // Module symbols come from module memory the overlap once hid.
      const loaded = ['qemu_fw_cfg', 'pvpanic'].filter((m) => !r.serial.includes(`cannot load ${m}\n`));
      for (const m of loaded) assert.match(rec.buffers[0].meta.kallsyms, new RegExp(`\\t\\[${m}\\]`), `symbols of module ${m}`);
      assert.match(rec.summary.panic?.message ?? '', /sysrq triggered crash/);
    } finally {
      rec.close();
    }
  });

  for (const [name, args, format] of [
    ['makedumpfile -c -d 31 (kdump-tools)', ['-c', '-d', '31'], 'kdump'],
    ['makedumpfile -E -d 31', ['-E', '-d', '31'], 'elf'],
    ['makedumpfile -c (no filter)', ['-c'], 'kdump'],
  ] as const) {
    test(`${name} keeps every event`, () => {
      const out = join(dir, `md-${args.join('')}`);
      rmSync(out, { force: true });
      execFileSync('makedumpfile', [...args, r.vmcore!, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      const rec = recoverFromDump(out);
      try {
        assert.equal(rec.summary.format, format);
        assertCountsMatchGuest(rec, g);
        assertNonces(rec, g);
        assert.deepEqual(rec.summary.warnings, []);
      } finally {
        rec.close();
      }
    });
  }

  test('lkst recover writes a trace.dat of the vmcore that trace-cmd reports', () => {
    const out = join(dir, 'kdump.dat');
    const res = lkst(['recover', r.vmcore!, '-o', out]);
    assert.equal(res.status, 0, res.stderr);
    const f = openTraceDat(out);
    try {
      assert.deepEqual(f.buffers.map((b) => b.name).sort(), ['', 'lkst', 'lkst2', 'lkst3']);
      // MODULES_FILE: name, size and address of each module as the guest's /proc/modules showed them.
      const fields = (l: string) => { const w = l.split(' '); return `${w[0]} ${w[1]} ${w[5]}`; };
      const guest = [...r.serial.matchAll(/^LKST-MODULE (.*?)\r?$/gm)].map((m) => fields(m[1]!));
      assert.ok(guest.length > 0, 'the guest listed its modules');
      assert.deepEqual((f.meta.modules ?? '').trim().split('\n').map(fields), guest);
    } finally {
      f.close();
    }
    const rep = execFileSync('trace-cmd', ['report', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.match(rep, new RegExp(`lkst-nonce=${g.nonce}`));
  });
});
