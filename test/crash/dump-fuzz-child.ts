/**
 * One dump-fuzz worker: recovers mutated copies of a real crash dump the way `lkst recover` does
 * (recovery, trace.dat written, summary printed as text and JSON), one case after another, with
 * "start SEED" before each case and a JSON result after it.
 * Usage: dump-fuzz-child KIND DUMP TARGETS.json DIR FIRST LAST.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../../src/base/errors.js';
import { formatSummary, writeRecovery } from '../../src/crash/command.js';
import { recoverFromDump } from '../../src/crash/recover.js';
import { rng } from '../file/mutate.js';
import { mutateDump, restoreDump, workingCopy, type DumpTargets } from './dump-mutate.js';

export interface DumpCaseResult {
  seed: number;
  how: string;
  /** whole: recovered with nothing reported; damaged: recovered with warnings or missing pages. */
  outcome: 'whole' | 'damaged' | 'refused' | 'crashed';
  events: number;
  warnings: number;
  message?: string;
  /** Peak resident memory of this process so far, MiB. */
  maxRssMb: number;
}

const [kind, dump, targetsFile, dir, first, last] = process.argv.slice(2) as [string, string, string, string, string, string];
const targets = JSON.parse(readFileSync(targetsFile, 'utf8')) as DumpTargets;
const copy = join(dir, `case-${kind}-${process.pid}.dump`);
const out = join(dir, `case-${kind}-${process.pid}.trace.dat`);
const files = workingCopy(dump, copy);
const say = (s: string) => writeFileSync(1, s + '\n');

for (let seed = Number(first); seed <= Number(last); seed++) {
  say(`start ${seed}`);
  const m = mutateDump(targets, files.orig, files.work, rng(seed * 7919 + kind.length));
  const r: DumpCaseResult = { seed, how: m.how, outcome: 'whole', events: 0, warnings: 0, maxRssMb: 0 };
  try {
    const rec = recoverFromDump(copy);
    try {
      await writeRecovery(rec, out);
    } finally {
      rec.close();
    }
    const s = rec.summary;
    formatSummary(s, out);
    JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    r.events = s.buffers.reduce((n, b) => n + b.cpus.reduce((k, c) => k + c.events, 0), 0);
    r.warnings = s.warnings.length;
    if (s.warnings.length || s.buffers.some((b) => b.cpus.some((c) => c.missingPages))) r.outcome = 'damaged';
  } catch (e) {
    r.outcome = e instanceof LkstError && !e.message.includes('\n') ? 'refused' : 'crashed';
    r.message = e instanceof Error ? (r.outcome === 'crashed' ? e.stack : e.message) : String(e);
  }
  restoreDump(targets, files.orig, files.work, m);
  r.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  say(JSON.stringify(r));
}
files.close();
rmSync(copy, { force: true });
rmSync(out, { force: true });
