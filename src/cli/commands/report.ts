import type { Command } from 'commander';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { action, numberOption } from '../run.js';
import { runReport, type ReportSummary } from '../../analysis/report/index.js';
import { MAGIC } from '../../file/layout.js';
import { LkstError } from '../../base/errors.js';

export interface ReportCliOptions {
  json?: boolean;
  event?: string[];
  cpu?: number;
  pid?: number;
  systemMap?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("print a trace (trace.dat v6/v7 of lkst or trace-cmd, or a crash dump) in time order, as trace-cmd report does")
    .argument('[file]', 'trace.dat or crash dump', 'trace.dat')
    .option('--json', 'one JSON object per event')
    .option('-e, --event <name>', 'only this event (LKST name, system:event, glob); repeatable', (v: string, p: string[]) => [...p, v], [])
    .option('--cpu <n>', 'only this CPU', numberOption('--cpu', 0))
    .option('--pid <n>', 'only this process', numberOption('--pid', 0))
    .option('--system-map <file>', 'symbols for a crash dump whose kernel lacks kallsyms')
    .action(action(async (file: string, opts: ReportCliOptions) => reportCommand(file, opts)));
}

export async function reportCommand(file: string, opts: ReportCliOptions): Promise<number> {
  try {
    if (statSync(file).isDirectory()) throw new LkstError(`${file} is a directory`, 'give a trace.dat file');
  } catch (err) {
    if (err instanceof LkstError) throw err;
    throw new LkstError(`cannot open ${file} (${(err as NodeJS.ErrnoException).code ?? err})`, 'record one with `lkst record` or give the path of a trace file');
  }
  let path = file;
  let cleanup = () => {};
  // The crash-dump readers are loaded only for files that are not trace.dat.
  if (!startsWithTraceDatMagic(file) && (await import('../../crash/open.js')).isDumpFile(file)) {
    const { dumpToTraceDat } = await import('../../crash/command.js');
    const rec = await dumpToTraceDat(file, { systemMap: opts.systemMap });
    path = rec.path;
    cleanup = rec.cleanup;
  }
  try {
    const s = await runReport(path, { json: opts.json, events: opts.event?.length ? opts.event : undefined, cpu: opts.cpu, pid: opts.pid });
    printWarnings(s);
  } finally {
    cleanup();
  }
  return 0;
}

function startsWithTraceDatMagic(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function printWarnings(s: ReportSummary): void {
  for (const w of s.warnings) process.stderr.write(`lkst: warning: ${w}\n`);
  if (s.lost || s.lostUncounted) {
    process.stderr.write(`lkst: the kernel lost ${s.lost} events${s.lostUncounted ? ` (and an uncounted number on ${s.lostUncounted} pages)` : ''} in this trace; the report marks where\n`);
  }
  if (s.corruptPages) process.stderr.write(`lkst: warning: ${s.corruptPages} corrupt pages were skipped\n`);
}
