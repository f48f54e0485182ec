// Fuzz of crash-dump recovery: mutated copies of real dumps (ELF and flattened kdump, zlib) of a
// crashed Debian kernel, recovered as `lkst recover` does, each in bounded time and memory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fuzzCases } from '../helpers/fuzz-runner.js';
import type { DumpCaseResult } from './dump-fuzz-child.js';
import { findTargets } from './dump-mutate.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';

/** A recovery takes about a second here (kallsyms and BTF of the whole kernel): this many keep the file near three minutes. */
const CASES = Number(process.env.LKST_DUMP_FUZZ_CASES ?? 70);
/** A case still running after this long is a hang (a guard, not a timing assertion). */
const CASE_LIMIT_MS = 30_000;
/** A clean recovery peaks near 400 MiB (symbols and BTF of the kernel); a wedged one grows without end. */
const MAX_RSS_MB = 1024;
const LIMITS = { caseMs: CASE_LIMIT_MS, rssMb: 2 * MAX_RSS_MB, maxFailures: 3, heapMb: 768 };
const CHILD = fileURLToPath(new URL('./dump-fuzz-child.js', import.meta.url));

function qemuMissing(): string | false {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'qemu-system-x86_64 is not installed';
  }
}

const kernel = fetchKernel('6.1');
const skip = 'skip' in kernel ? kernel.skip : qemuMissing();

describe('fuzz: mutated copies of real crash dumps are recovered or refused in one line, in bounded time and memory', { skip }, () => {
  let g: CrashedGuest;
  // Working copies live in memory: each case rewrites a window of one and puts it back.
  const work = mkdtempSync('/dev/shm/lkst-dumpfuzz-');
  before(async () => {
    g = await crashedGuest((kernel as { dir: string }).dir, { formats: ['elf', 'kdump-zlib'] });
  });
  after(() => {
    g?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  for (const kind of ['elf', 'kdump-zlib'] as const) {
    test(`${CASES} mutated ${kind} dumps`, async (t) => {
      const dump = g.dumps[kind]!;
      const targets = findTargets(dump);
      assert.ok(targets.container.length > 0 && targets.kernel.length > 0 && targets.ringbuf.length > 0, `${kind}: the clean recovery read headers, kernel and ring buffers`);
      const targetsFile = join(work, `${kind}.targets.json`);
      writeFileSync(targetsFile, JSON.stringify(targets));
      const run = await fuzzCases<DumpCaseResult>(CHILD, [kind, dump, targetsFile, work], CASES, LIMITS);
      const by = (o: DumpCaseResult['outcome']) => run.results.filter((r) => r.outcome === o);
      const crashed = by('crashed');
      const maxRss = Math.max(...run.results.map((r) => r.maxRssMb));
      t.diagnostic(
        `${kind}: ${run.results.length + run.hung.length + run.overMemory.length} cases: ${by('whole').length} recovered whole, ` +
          `${by('damaged').length} recovered with damage reported, ${by('refused').length} refused in one line, ${crashed.length} crashed, ` +
          `${run.hung.length} hung, ${run.overMemory.length} over ${LIMITS.rssMb} MiB; peak RSS ${maxRss} MiB`,
      );
      assert.equal(run.exit, undefined, `${kind}: the recovering process died: ${run.exit}`);
      assert.deepEqual(run.hung, [], `${kind}: seeds that hung`);
      assert.deepEqual(run.overMemory, [], `${kind}: seeds whose recovery grew past ${LIMITS.rssMb} MiB`);
      assert.deepEqual(crashed.map((r) => `seed ${r.seed} (${r.how}): ${r.message}`), [], `${kind}: errors that are not one-line LkstErrors`);
      assert.equal(run.results.length, CASES, `${kind}: every case ran`);
      assert.ok(maxRss < MAX_RSS_MB, `${kind}: peak RSS ${maxRss} MiB`);
      assert.ok(by('whole').length > 0 && by('damaged').length > 0 && by('refused').length > 0, `${kind}: every outcome occurs`);
    });
  }
});
