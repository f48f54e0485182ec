// Fuzz of crash-dump reading: mutated copies of real dumps (ELF and flattened kdump, zlib) of a
// crashed Debian kernel, opened (thousands) and recovered as `lkst recover` does (80: a
// recovery decodes the kernel's kallsyms and BTF, about a second), each in bounded time and memory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertBounded, fuzzCases } from '../helpers/fuzz-runner.js';
import type { DumpCaseResult } from './dump-fuzz-child.js';
import { findTargets } from './dump-mutate.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';

const CASES = { open: Number(process.env.LKST_DUMP_FUZZ_OPEN ?? 2000), recover: Number(process.env.LKST_DUMP_FUZZ_RECOVER ?? 80) };
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

describe('fuzz: mutated copies of real crash dumps are read or refused in one line, in bounded time and memory', { skip }, () => {
  let g: CrashedGuest;
  // Working copies live in memory: each case rewrites a window of one and puts it back.
  const work = mkdtempSync('/dev/shm/lkst-dumpfuzz-');
  const targetFiles = new Map<string, string>();
  before(async () => {
    g = await crashedGuest((kernel as { dir: string }).dir, { formats: ['elf', 'kdump-zlib'] });
  });
  after(() => {
    g?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  /** Where the readers parse this dump, learnt from a clean recovery (once per dump). */
  function targetsOf(kind: 'elf' | 'kdump-zlib'): string {
    let file = targetFiles.get(kind);
    if (file) return file;
    const t = findTargets(g.dumps[kind]!);
    assert.ok(t.container.length > 0 && t.kernel.length > 0 && t.ringbuf.length > 0 && t.ringPages.length > 0, `${kind}: the clean recovery read headers, kernel and ring buffers`);
    file = join(work, `${kind}.targets.json`);
    writeFileSync(file, JSON.stringify(t));
    targetFiles.set(kind, file);
    return file;
  }

  for (const kind of ['elf', 'kdump-zlib'] as const) {
    for (const mode of ['open', 'recover'] as const) {
      test(`${CASES[mode]} mutated ${kind} dumps: ${mode}`, async (t) => {
        const run = await fuzzCases<DumpCaseResult>(CHILD, [mode, kind, g.dumps[kind]!, targetsOf(kind), work], CASES[mode], LIMITS);
        const by = (o: DumpCaseResult['outcome']) => run.results.filter((r) => r.outcome === o);
        const crashed = by('crashed');
        const maxRss = Math.max(...run.results.map((r) => r.maxRssMb));
        const what = mode === 'open' ? 'opened with every ring page read' : 'recovered whole';
        t.diagnostic(
          `${kind} ${mode}: ${run.results.length + run.hung.length + run.overMemory.length} cases: ${by('whole').length} ${what}, ` +
            `${by('damaged').length} with damage reported, ${by('refused').length} refused in one line, ${crashed.length} crashed, ` +
            `${run.hung.length} hung, ${run.overMemory.length} over ${LIMITS.rssMb} MiB; peak RSS ${maxRss} MiB`,
        );
        assertBounded(`${kind} ${mode}`, run, crashed, CASES[mode], LIMITS);
        assert.ok(maxRss < MAX_RSS_MB, `${kind} ${mode}: peak RSS ${maxRss} MiB`);
        assert.ok(by('whole').length > 0 && by('damaged').length > 0 && by('refused').length > 0, `${kind} ${mode}: every outcome occurs`);
      });
    }
  }
});
