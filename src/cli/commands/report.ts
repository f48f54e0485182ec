import type { Command } from 'commander';
import { action, numberOption, printWarning } from '../run.js';
import { runReport, type ReportSummary } from '../../analysis/report/report.js';
import { lossText, totalLoss } from '../../trace/loss.js';

export interface ReportCliOptions {
  json?: boolean;
  event?: string[];
  cpu?: number;
  pid?: number;
  systemMap?: string;
  buffer?: string[];
  syscallNames?: boolean;
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
    .option('--syscall-names', 'name the syscall of raw_syscalls sys_enter/sys_exit ("NR 0 read"); off by default, as trace-cmd prints')
    .option('--buffer <name>', 'only this buffer ("top" for the top-level one); repeatable', (v: string, p: string[]) => [...p, v], [])
    .option('--system-map <file>', 'symbols for a crash dump whose kernel lacks kallsyms')
    .action(action(async (file: string, opts: ReportCliOptions) => reportCommand(file, opts)));
}

export async function reportCommand(file: string, opts: ReportCliOptions): Promise<number> {
  const s = await runReport(file, {
    json: opts.json,
    events: opts.event?.length ? opts.event : undefined,
    cpu: opts.cpu,
    pid: opts.pid,
    buffers: opts.buffer,
    systemMap: opts.systemMap,
    syscallNames: opts.syscallNames,
    onClockNote: (note) => process.stderr.write(`lkst: note: ${note}\n`),
  });
  printWarnings(s);
  return 0;
}

function printWarnings(s: ReportSummary): void {
  for (const w of s.warnings) printWarning(w);
  const t = totalLoss(s.loss.cpus);
  if (t.lost || t.before || !t.exact) process.stderr.write(`lkst: ${lossText(t)} in this trace${t.lost || !t.exact ? '; the report marks where' : ''}\n`);
  for (const c of s.loss.cpus) if (!c.exact) process.stderr.write(`lkst: uncertain: ${c.buffer ? `buffer ${c.buffer} ` : ''}CPU ${c.cpu}: ${c.uncertain}\n`);
  if (s.corruptPages) process.stderr.write(`lkst: warning: ${s.corruptPages} corrupt pages were skipped\n`);
}
