import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSmallFiles, type SmallFiles } from './small-files.js';
import type { CaseResult } from './fuzz-child.js';

const CASES_PER_FILE = 500;
/** A case still running after this long is a hang (a guard, not a timing assertion: a wedged reader never finishes). */
const CASE_LIMIT_MS = 30_000;
/** The reader holds a few pages per CPU and the metadata of a ~100 KB file; a wedged one grew to GBs. */
const MAX_RSS_MB = 400;
/** After this many hangs the run stops: the seeds are enough to replay. */
const MAX_HANGS = 3;
const CHILD = fileURLToPath(new URL('./fuzz-child.js', import.meta.url));

let dir: string;
let files: SmallFiles;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkst-fuzz-'));
  files = await writeSmallFiles(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  results: CaseResult[];
  hung: number[];
}

/** Runs seeds first..last in one child; resolves with the results and, if a case hung, its seed (the child is killed). */
function runChild(kind: string, file: string, first: number, last: number): Promise<{ results: CaseResult[]; hung?: number; exit?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=256', CHILD, kind, file, dir, String(first), String(last)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const results: CaseResult[] = [];
    let current = -1;
    let timer: NodeJS.Timeout | undefined;
    let hung: number | undefined;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()).length > 1e5 && (stderr = stderr.slice(-1e4)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('start ')) {
        current = Number(line.slice(6));
        clearTimeout(timer);
        timer = setTimeout(() => {
          hung = current;
          child.kill('SIGKILL');
        }, CASE_LIMIT_MS);
      } else results.push(JSON.parse(line) as CaseResult);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exit = hung === undefined && code !== 0 ? `exit ${code ?? signal} at seed ${current}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : undefined;
      resolve({ results, hung, exit });
    });
  });
}

async function fuzz(kind: keyof SmallFiles, cases: number): Promise<Run> {
  const run: Run = { results: [], hung: [] };
  for (let next = 1; next <= cases; ) {
    const r = await runChild(kind, files[kind], next, cases);
    run.results.push(...r.results);
    assert.equal(r.exit, undefined, `${kind}: the reader process died: ${r.exit}`);
    if (r.hung === undefined) break;
    run.hung.push(r.hung);
    if (run.hung.length >= MAX_HANGS) break;
    next = r.hung + 1;
  }
  return run;
}

for (const kind of ['ours', 'zstd', 'v6'] as const) {
  test(`fuzz: ${CASES_PER_FILE} mutated copies of a real ${kind} file are read or refused in one line, each in bounded time and memory`, async (t) => {
    const run = await fuzz(kind, CASES_PER_FILE);
    const by = (o: CaseResult['outcome']) => run.results.filter((r) => r.outcome === o);
    const crashed = by('crashed');
    const events = run.results.reduce((n, r) => n + r.events, 0);
    const maxRss = Math.max(...run.results.map((r) => r.maxRssMb));
    t.diagnostic(
      `${kind}: ${run.results.length + run.hung.length} cases: ${by('read').length} read whole, ${by('skipped').length} read with damage skipped ` +
        `(${run.results.reduce((n, r) => n + r.corruptPages, 0)} pages), ${by('refused').length} refused in one line, ${crashed.length} crashed, ` +
        `${run.hung.length} hung; ${events} events read; peak RSS ${maxRss} MiB`,
    );
    assert.deepEqual(run.hung, [], `${kind}: seeds that hung`);
    assert.deepEqual(crashed.map((r) => `seed ${r.seed} (${r.how}): ${r.message}`), [], `${kind}: errors that are not one-line LkstErrors`);
    assert.equal(run.results.length, CASES_PER_FILE, `${kind}: every case ran`);
    assert.ok(maxRss < MAX_RSS_MB, `${kind}: peak RSS ${maxRss} MiB`);
    assert.ok(by('read').length > 0 && by('refused').length > 0 && by('skipped').length > 0, `${kind}: every outcome occurs`);
  });
}
