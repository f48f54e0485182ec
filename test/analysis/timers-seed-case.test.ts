// The seed's case study found by the tool: a real 6.1 kernel under QEMU runs a module that frees a
// struct whose timer is still armed and dies in the timer code; lkst recovers the trace from the
// dump, and `analyze timers` must point at the free and the timer used on the freed memory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { writeRecovery } from '../../src/crash/command.js';
import { recoverFromDump } from '../../src/crash/recover.js';
import { openTrace } from '../../src/analysis/open.js';
import { analyzeTimers } from '../../src/analysis/timers.js';
import { crashedGuest, fetchKernel } from '../crash/guest.js';

const k61 = fetchKernel('6.1');
const scripts = fileURLToPath(new URL('../../../scripts/crash/', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('analyze timers on the recovered trace of the seed case', { skip: 'skip' in k61 ? k61.skip : false }, () => {
  test('finds the free of an object with an armed timer, and the timer then handled on the freed memory', async (t) => {
    const kdir = (k61 as { dir: string }).dir;
    const work = mkdtempSync(join(tmpdir(), 'lkst-seedcase-'));
    let g;
    try {
      const ko = join(work, 'lkst_uaf.ko');
      const built = spawnSync('sh', [join(scripts, 'build-uaf-module.sh'), kdir, ko], { encoding: 'utf8' });
      if (built.status === 3) {
        t.skip(`kernel headers cannot be downloaded: ${built.stderr.trim()}`);
        return;
      }
      assert.equal(built.status, 0, built.stderr);
      g = await crashedGuest(kdir, { mode: 'uaf', kaslr: true, extraAppend: 'slub_debug=FZP' }, ko);
      const out = join(work, 'uaf.dat');
      await writeRecovery(recoverFromDump(g.dumps.elf!), out);
      const trace = openTrace(out);
      let r;
      try {
        r = analyzeTimers(trace);
      } finally {
        trace.close();
      }
      assert.deepEqual(r.coverage, { timerEvents: true, freeEvents: true, allocSizes: true });
      const mine = r.findings.filter((f) => f.function?.startsWith('lkst_victim_fire'));
      assert.ok(mine.length > 0, `a finding for the module's timer (got ${r.findings.map((f) => f.message).join('; ') || 'none'})`);
      const freed = mine.find((f) => f.kind === 'freed-while-pending');
      assert.ok(freed, 'the free of the object while its timer was armed');
      assert.deepEqual(freed.evidence.map((e) => e.event), ['kmem:kmalloc', 'timer:timer_start', 'kmem:kfree']);
      const fired = mine.find((f) => f.kind === 'fired-after-free');
      assert.ok(fired, 'the timer handled by the timer softirq after the free');
      assert.equal(fired.timer, freed.timer);
      assert.deepEqual(fired.evidence.slice(0, 3).map((e) => e.event), ['kmem:kmalloc', 'timer:timer_start', 'kmem:kfree']);
      assert.ok(/^timer:timer_(cancel|expire_entry)$/.test(fired.evidence[3]!.event));
      assert.ok(fired.object.offset >= 0 && fired.object.offset < fired.object.size, 'the timer lies inside the freed object');
      // The command says so too, and exits 3 on a finding.
      const cmd = spawnSync(process.execPath, [cli, 'analyze', 'timers', out], { encoding: 'utf8' });
      assert.equal(cmd.status, 3);
      assert.match(cmd.stdout, /\[freed-while-pending\].*lkst_victim_fire/);
      assert.match(cmd.stdout, /\[fired-after-free\]/);
      // Straight from the dump, without a recovery step.
      const direct = spawnSync(process.execPath, [cli, 'analyze', 'timers', g.dumps.elf!, '--json'], { encoding: 'utf8' });
      assert.equal(direct.status, 3, direct.stderr);
      assert.deepEqual((JSON.parse(direct.stdout) as { findings: { kind: string }[] }).findings.map((f) => f.kind), r.findings.map((f) => f.kind));
    } finally {
      g?.cleanup();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
