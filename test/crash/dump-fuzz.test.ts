// Fuzz of crash-dump reading: mutated copies of real dumps (ELF, flattened kdump-zlib, raw image) of a
// crashed Debian kernel, opened (thousands) and recovered as `lkst recover` does (80: a
// recovery decodes the kernel's kallsyms and BTF, about a second), each in bounded time and memory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertBounded, fuzzCases } from '../helpers/fuzz-runner.js';
import type { DumpCaseResult } from './dump-fuzz-child.js';
import { findTargets } from './dump-mutate.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';
import { isOneLineError, lkst } from '../helpers/cli.js';

const CASES = { open: Number(process.env.LKST_DUMP_FUZZ_OPEN ?? 2000), recover: Number(process.env.LKST_DUMP_FUZZ_RECOVER ?? 80) };
/** A raw image has no container to parse (a 64-byte look at its start): fewer open cases, its cuts and the kernel inside are what matter. */
const RAW_OPEN = Math.min(CASES.open, 400);
type DumpKind = 'elf' | 'kdump-zlib' | 'raw';
const casesOf = (kind: DumpKind, mode: 'open' | 'recover') => (kind === 'raw' && mode === 'open' ? RAW_OPEN : CASES[mode]);
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
    g = await crashedGuest((kernel as { dir: string }).dir, { formats: ['elf', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy'], raw: true });
  });
  after(() => {
    g?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  /** Where the readers parse this dump, learnt from a clean recovery (once per dump). */
  function targetsOf(kind: DumpKind): string {
    let file = targetFiles.get(kind);
    if (file) return file;
    const t = findTargets(g.dumps[kind]!);
    assert.ok(t.container.length > 0 && t.kernel.length > 0 && t.ringbuf.length > 0 && t.ringPages.length > 0, `${kind}: the clean recovery read headers, kernel and ring buffers`);
    file = join(work, `${kind}.targets.json`);
    writeFileSync(file, JSON.stringify(t));
    targetFiles.set(kind, file);
    return file;
  }

  for (const kind of ['elf', 'kdump-zlib', 'raw'] as const) {
    for (const mode of ['open', 'recover'] as const) {
      const cases = casesOf(kind, mode);
      test(`${cases} mutated ${kind} dumps: ${mode}`, async (t) => {
        const run = await fuzzCases<DumpCaseResult>(CHILD, [mode, kind, g.dumps[kind]!, targetsOf(kind), work], cases, LIMITS);
        const by = (o: DumpCaseResult['outcome']) => run.results.filter((r) => r.outcome === o);
        const crashed = by('crashed');
        const maxRss = Math.max(...run.results.map((r) => r.maxRssMb));
        const what = mode === 'open' ? 'opened with every ring page read' : 'recovered whole';
        t.diagnostic(
          `${kind} ${mode}: ${run.results.length + run.hung.length + run.overMemory.length} cases: ${by('whole').length} ${what}, ` +
            `${by('damaged').length} with damage reported, ${by('refused').length} refused in one line, ${crashed.length} crashed, ` +
            `${run.hung.length} hung, ${run.overMemory.length} over ${LIMITS.rssMb} MiB; peak RSS ${maxRss} MiB`,
        );
        assertBounded(`${kind} ${mode}`, run, crashed, cases, LIMITS);
        assert.ok(maxRss < MAX_RSS_MB, `${kind} ${mode}: peak RSS ${maxRss} MiB`);
        // A raw image's only structure is its length: a cut is refused (not whole pages) or, rarely, page-aligned.
        const damagedExpected = !(kind === 'raw' && mode === 'open');
        assert.ok(by('whole').length > 0 && (by('damaged').length > 0 || !damagedExpected) && by('refused').length > 0, `${kind} ${mode}: every outcome occurs`);
      });
    }
  }

  /** QEMU built without LZO or snappy: makedumpfile converts the ELF dump (-l LZO, -p snappy) when it was built with them. */
  function convertedDump(kind: 'kdump-lzo' | 'kdump-snappy'): string | { why: string } {
    const path = join(work, `converted.${kind}`);
    try {
      execFileSync('makedumpfile', [kind === 'kdump-lzo' ? '-l' : '-p', '-d', '0', g.dumps.elf!, path], { stdio: ['ignore', 'ignore', 'pipe'] });
      return path;
    } catch (e) {
      const lines = String((e as { stderr?: Buffer }).stderr ?? e).split('\n').map((l) => l.trim()).filter(Boolean);
      return { why: lines.find((l) => !/^makedumpfile Failed/.test(l)) ?? lines[0] ?? 'no message' };
    }
  }

  for (const kind of ['kdump-lzo', 'kdump-snappy'] as const) {
    test(`a ${kind} dump (a compression lkst does not read) is refused in one line naming the conversion, and writes nothing`, (t) => {
      const dump = g.dumps[kind] ?? convertedDump(kind);
      if (typeof dump !== 'string') return t.skip(`neither QEMU (${g.dumpErrors[kind] ?? 'no reason given'}) nor makedumpfile (${dump.why}) can write ${kind} here`);
      const out = join(work, `${kind}.trace.dat`);
      const r = lkst(['recover', dump, '-o', out], { timeoutMs: 120_000 });
      assert.ok(isOneLineError(r), `exit ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, kind === 'kdump-lzo' ? /LZO/ : /snappy/);
      assert.match(r.stderr, /makedumpfile/);
      assert.equal(existsSync(out), false, 'no trace file written');
    });
  }
});
