import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSmallFiles, type SmallFiles } from './small-files.js';
import type { CaseResult } from './fuzz-child.js';
import { assertBounded, fuzzCases } from '../helpers/fuzz-runner.js';

const CASES_PER_FILE = 500;
/** A case still running after this long is a hang (a guard, not a timing assertion: a wedged reader never finishes). */
const CASE_LIMIT_MS = 30_000;
/** The reader holds a few pages per CPU and the metadata of a ~100 KB file; a wedged one grew to GBs. */
const MAX_RSS_MB = 400;
/** After this many hangs (or memory kills, at 4x the bound) the run stops: the seeds are enough to replay. */
const MAX_HANGS = 3;
const CHILD = fileURLToPath(new URL('./fuzz-child.js', import.meta.url));

let dir: string;
let files: SmallFiles;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkst-fuzz-'));
  files = await writeSmallFiles(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const LIMITS = { caseMs: CASE_LIMIT_MS, rssMb: 4 * MAX_RSS_MB, maxFailures: MAX_HANGS, heapMb: 256 };

for (const kind of ['ours', 'zstd', 'v6'] as const) {
  test(`fuzz: ${CASES_PER_FILE} mutated copies of a real ${kind} file are read or refused in one line, each in bounded time and memory`, async (t) => {
    const run = await fuzzCases<CaseResult>(CHILD, [kind, files[kind], dir], CASES_PER_FILE, LIMITS);
    const by = (o: CaseResult['outcome']) => run.results.filter((r) => r.outcome === o);
    const crashed = by('crashed');
    const events = run.results.reduce((n, r) => n + r.events, 0);
    const maxRss = Math.max(...run.results.map((r) => r.maxRssMb));
    t.diagnostic(
      `${kind}: ${run.results.length + run.hung.length + run.overMemory.length} cases: ${by('read').length} read whole, ${by('skipped').length} read with damage skipped ` +
        `(${run.results.reduce((n, r) => n + r.corruptPages, 0)} pages), ${by('refused').length} refused in one line, ${crashed.length} crashed, ` +
        `${run.hung.length} hung; ${events} events read; peak RSS ${maxRss} MiB`,
    );
    assertBounded(kind, run, crashed, CASES_PER_FILE, LIMITS);
    assert.ok(maxRss < MAX_RSS_MB, `${kind}: peak RSS ${maxRss} MiB`);
    assert.ok(by('read').length > 0 && by('refused').length > 0 && by('skipped').length > 0, `${kind}: every outcome occurs`);
  });
}
