/**
 * One fuzz worker: reads mutated copies of a real trace file the way `lkst report` does, one case
 * after another, and prints a line per case ("start SEED" before, a JSON result after) so the test
 * can tell which seed hung and kill this process. Usage: fuzz-child KIND FILE DIR FIRST LAST.
 */
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runReport } from '../../src/analysis/report/report.js';
import { mutate, rng } from './mutate.js';
import { caseError } from '../helpers/fuzz-runner.js';

export interface CaseResult {
  seed: number;
  how: string;
  outcome: 'read' | 'skipped' | 'refused' | 'crashed';
  events: number;
  corruptPages: number;
  warnings: number;
  message?: string;
  /** Peak resident memory of this process so far, MiB. */
  maxRssMb: number;
}

const [kind, file, dir, first, last] = process.argv.slice(2) as [string, string, string, string, string];
const orig = readFileSync(file);
const path = join(dir, `case-${kind}-${process.pid}.dat`);
const devNull = openSync('/dev/null', 'w');
const say = (s: string) => writeFileSync(1, s + '\n');

for (let seed = Number(first); seed <= Number(last); seed++) {
  say(`start ${seed}`);
  const { bytes, how } = mutate(orig, rng(seed * 7919 + kind.length));
  writeFileSync(path, bytes);
  // Some cases through the decompressing thread and the zstd program, most on this thread.
  process.env.LKST_PREFETCH = seed % 16 === 0 ? '1' : '0';
  if (seed % 32 === 8) process.env.LKST_ZSTD = 'cli';
  else delete process.env.LKST_ZSTD;
  const r: CaseResult = { seed, how, outcome: 'read', events: 0, corruptPages: 0, warnings: 0, maxRssMb: 0 };
  try {
    const s = await runReport(path, { out: devNull, json: seed % 2 === 1 });
    r.events = s.records;
    r.corruptPages = s.corruptPages;
    r.warnings = s.warnings.length;
    if (s.corruptPages || s.warnings.length || s.loss.cpus.some((c) => !c.exact)) r.outcome = 'skipped';
  } catch (e) {
    ({ outcome: r.outcome, message: r.message } = caseError(e));
  }
  r.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  say(JSON.stringify(r));
}
closeSync(devNull);
