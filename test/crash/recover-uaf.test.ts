// The seed's case study: a module frees a struct whose timer is still armed; the kernel dies in
// __run_timers. The recovered trace must hold the allocation, the timer's arming, the free, and
// then the timer being handled on the freed memory, with addresses that tie them together.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { writeRecovery } from '../../src/crash/command.js';
import { decodeEvents, formatMap } from '../../src/crash/events.js';
import { recoverFromDump } from '../../src/crash/recover.js';
import { crashedGuest, fetchKernel } from './guest.js';

const k61 = fetchKernel('6.1');
const scripts = fileURLToPath(new URL('../../../scripts/crash/', import.meta.url));

function buildModule(kernelDir: string, out: string): string | undefined {
  try {
    execFileSync('sh', [join(scripts, 'build-uaf-module.sh'), kernelDir, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (e) {
    const err = e as { status?: number; stderr?: Buffer };
    if (err.status === 3) return String(err.stderr).trim();
    throw new Error(`module build failed: ${String(err.stderr)}`);
  }
}

describe('timer armed in a freed object (the seed case study)', { skip: 'skip' in k61 ? k61.skip : false }, () => {
  test('the dump shows kmalloc, timer_start, kfree, then the timer handled on the freed object', async (t) => {
    const kdir = (k61 as { dir: string }).dir;
    const koDir = mkdtempSync(join(tmpdir(), 'lkstcrash-ko-'));
    const tmpKo = join(koDir, 'lkst_uaf.ko');
    let g;
    try {
      const why = buildModule(kdir, tmpKo);
      if (why) { t.skip(`headers cannot be downloaded: ${why}`); return; }
      g = await crashedGuest(kdir, { mode: 'uaf', kaslr: true, extraAppend: 'slub_debug=FZP' }, tmpKo);
    } finally {
      rmSync(koDir, { recursive: true, force: true });
    }
    try {
      assert.match(g.serial, /__run_timers/, 'the guest died in the timer code');
      const rec = recoverFromDump(g.dumps.elf!);
      const top = rec.buffers.find((b) => b.name === 'top')!;
      const ev = [...decodeEvents(top.cpus, top.meta.pageSize, formatMap(rec.formats))].sort((a, b) => a.ts - b.ts);
      // The module's timer: the one whose function is its callback.
      const sym = rec.buffers[0].meta.kallsyms.split('\n').find((l) => / lkst_victim_fire\t\[lkst_uaf\]$/.test(l));
      assert.ok(sym, 'module symbols recovered from the dump');
      const fire = BigInt('0x' + sym.split(' ')[0]);
      const start = ev.find((e) => e.event === 'timer:timer_start' && e.fields.function === fire);
      assert.ok(start, 'timer_start of the module timer');
      const timer = start.fields.timer as bigint;
      const alloc = ev.filter((e) => (e.event === 'kmem:kmalloc' || e.event === 'kmem:kmalloc_node') && e.ts <= start.ts)
        .reverse().find((e) => (e.fields.ptr as bigint) <= timer && timer < (e.fields.ptr as bigint) + BigInt(e.fields.bytes_alloc as number));
      assert.ok(alloc, 'the kmalloc holding the timer precedes its arming');
      const free = ev.find((e) => e.event === 'kmem:kfree' && e.fields.ptr === alloc.fields.ptr && e.ts >= start.ts);
      assert.ok(free, 'the object is freed after the timer was armed');
      const after = ev.find((e) => (e.event === 'timer:timer_cancel' || e.event === 'timer:timer_expire_entry') && e.fields.timer === timer && e.ts > free.ts);
      assert.ok(after, 'the freed timer is handled after the free');
      if (existsSync('/usr/bin/trace-cmd')) {
        const out = join(g.dir, 'uaf.dat');
        await writeRecovery(rec, out);
        const rep = execFileSync('trace-cmd', ['report', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
        assert.match(rep, /timer_start: +timer=0x[0-9a-f]+ function=lkst_victim_fire/);
        // The module's trace_printk, printed from the format recovered out of the dump.
        // (libtraceevent prints %px as %p followed by a literal x.)
        assert.match(rep, new RegExp(`bprint: .*lkst_uaf: freeing 0x0*${(alloc.fields.ptr as bigint).toString(16)}x? with timer 0x0*${timer.toString(16)}x? armed`));
      }
    } finally {
      g.cleanup();
    }
  });
});
