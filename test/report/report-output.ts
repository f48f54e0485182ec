/** Runs lkst's report into a temporary file and returns its text. */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runReport, type ReportOptions, type ReportSummary } from '../../src/analysis/report/index.js';

let seq = 0;

export async function reportText(dir: string, path: string, opts: Omit<ReportOptions, 'out'> = {}): Promise<{ text: string; summary: ReportSummary }> {
  const out = join(dir, `lkst-${++seq}.txt`);
  const fd = openSync(out, 'w');
  let summary: ReportSummary;
  try {
    summary = await runReport(path, { ...opts, out: fd });
  } finally {
    closeSync(fd);
  }
  return { text: readFileSync(out, 'latin1'), summary };
}

/** The event name of a report line ("...: name: text"), or undefined for other lines. */
export function eventOfLine(line: string): string | undefined {
  return /^.*?\[\d{3}\]\s+\d+\.\d{6}: (\S+):/.exec(line)?.[1];
}
