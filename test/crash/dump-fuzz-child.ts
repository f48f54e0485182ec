/**
 * One dump-fuzz worker over mutated copies of a real crash dump, one case after another, with
 * "start SEED" before each case and a JSON result after it. Two depths:
 * - recover: what `lkst recover` does (recovery, trace.dat written, summary as text and JSON);
 * - open: the dump's container only (open, ranges, VMCOREINFO note, every ring-buffer page read by
 *   physical address), a few milliseconds a case, so thousands fit.
 * Usage: dump-fuzz-child recover|open KIND DUMP TARGETS.json DIR FIRST LAST.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatSummary, writeRecovery } from '../../src/crash/command.js';
import { openDump } from '../../src/crash/open.js';
import { recoverFromDump } from '../../src/crash/recover.js';
import { parseVmcoreInfo } from '../../src/crash/vmcoreinfo.js';
import { rng } from '../file/mutate.js';
import { caseError } from '../helpers/fuzz-runner.js';
import { mutateDump, restoreDump, workingCopy, writePrefix, type Aim, type DumpTargets } from './dump-mutate.js';

export interface DumpCaseResult {
  seed: number;
  how: string;
  /** whole: read with nothing reported; damaged: read with warnings or pages reported missing. */
  outcome: 'whole' | 'damaged' | 'refused' | 'crashed';
  /** Events recovered (recover), ring-buffer pages read (open). */
  count: number;
  message?: string;
  /** Peak resident memory of this process so far, MiB. */
  maxRssMb: number;
}

const AIMS: Record<string, Aim> = { recover: { container: 3, kernel: 3, ringbuf: 3 }, open: { container: 7, kernel: 0, ringbuf: 2 } };

const [mode, kind, dump, targetsFile, dir, first, last] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const targets = JSON.parse(readFileSync(targetsFile, 'utf8')) as DumpTargets;
const copy = join(dir, `case-${kind}-${process.pid}.dump`);
const cut = join(dir, `case-${kind}-${process.pid}.cut.dump`);
const out = join(dir, `case-${kind}-${process.pid}.trace.dat`);
const files = workingCopy(dump, copy);
const say = (s: string) => writeFileSync(1, s + '\n');

async function recoverCase(path: string, r: DumpCaseResult): Promise<void> {
  const rec = recoverFromDump(path);
  try {
    await writeRecovery(rec, out);
  } finally {
    rec.close();
  }
  const s = rec.summary;
  // The summary goes to the terminal: text from the dump in it must come escaped.
  const bad = /[^\P{Cc}\n]|[\u2028\u2029]/u.exec(formatSummary(s, out));
  if (bad) throw new Error(`the summary carries control character ${JSON.stringify(bad[0])}`);
  JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  r.count = s.buffers.reduce((n, b) => n + b.cpus.reduce((k, c) => k + c.events, 0), 0);
  if (s.warnings.length || s.buffers.some((b) => b.cpus.some((c) => c.missingPages))) r.outcome = 'damaged';
}

function openCase(path: string, r: DumpCaseResult): void {
  const mem = openDump(path);
  try {
    mem.ranges();
    if (mem.vmcoreinfo) parseVmcoreInfo(mem.vmcoreinfo);
    for (const [pa, n] of targets.ringPages) {
      const page = mem.read(pa, n);
      if (page) r.count++;
      // A page not read must say why: the recovery reports it.
      else if (!mem.lastMiss) throw new Error(`page at 0x${pa.toString(16)} not read, and no reason given`);
      if (page && page.length !== n) throw new Error(`page at 0x${pa.toString(16)}: ${page.length} bytes read of ${n}`);
    }
    if (r.count < targets.ringPages.length) r.outcome = 'damaged';
  } finally {
    mem.close();
  }
}

for (let seed = Number(first); seed <= Number(last); seed++) {
  say(`start ${seed}`);
  const m = mutateDump(targets, AIMS[mode]!, files.orig, files.work, rng(seed * 7919 + kind.length + mode.length));
  if (m.prefix !== undefined) writePrefix(files.orig, cut, m.prefix);
  const path = m.prefix !== undefined ? cut : copy;
  const r: DumpCaseResult = { seed, how: m.how, outcome: 'whole', count: 0, maxRssMb: 0 };
  try {
    if (mode === 'open') openCase(path, r);
    else await recoverCase(path, r);
  } catch (e) {
    ({ outcome: r.outcome, message: r.message } = caseError(e));
  }
  restoreDump(targets, files.orig, files.work, m);
  r.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  say(JSON.stringify(r));
}
files.close();
for (const f of [copy, cut, out]) rmSync(f, { force: true });
