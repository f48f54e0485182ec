import type { Command } from 'commander';
import { action } from '../run.js';
import { LkstError, errnoCode } from '../../base/errors.js';
import { planRecording } from '../record-plan.js';
import { addRecordingOptions, runRecording, untilText, type RecordingCliOptions } from '../record-options.js';
import { LiveReport, type LiveSummary } from '../../analysis/report/live.js';
import { lossText, totalLoss } from '../../trace/loss.js';
import { grouped } from '../../base/grouped.js';

/** Longest wait before a quiet CPU is read: how late an event may show (a recording's default is 100 ms). */
const STREAM_POLL_MS = 50;

export interface StreamCliOptions extends RecordingCliOptions {
  json?: boolean;
  syscallNames?: boolean;
  quiet?: boolean;
}

export function registerStream(program: Command): void {
  addRecordingOptions(
    program
      .command('stream')
      .description("print the running kernel's events as they happen, as `lkst report` prints a trace (default: the maskset \"default\"), until Ctrl-C, -d or the command's end"),
  )
    .option('--json', 'one JSON object per event, as `lkst report --json`')
    .option('--syscall-names', 'name the syscall of raw_syscalls sys_enter/sys_exit ("NR 0 read")')
    .option('-q, --quiet', 'no first line and no totals on stderr')
    .addHelpText(
      'after',
      '\nEvents of all CPUs come out in time order, within about one --poll interval (default 50 ms) of when\n' +
        'they happened. Lost events are marked where they were lost, as report marks them ("CPU:N [EVENTS\n' +
        'DROPPED]", with the count when the kernel stored one); a reader slower than the events leaves them in\n' +
        'the kernel, which overwrites and counts them: the totals on stderr at the end say how many. A\n' +
        "command's own output goes to stderr.",
    )
    .action(action(async (command: string[], opts: StreamCliOptions) => streamCommand(command, opts)));
}

/** Streams until the end, stdout's reader leaving (quietly, exit 0) or Ctrl-C; returns the exit code. */
export async function streamCommand(command: string[], opts: StreamCliOptions): Promise<number> {
  const warn = (m: string) => {
    if (!opts.quiet) process.stderr.write(`lkst: ${m}\n`);
  };
  const plan = await planRecording({ ...opts, command, live: true }, warn);
  const stop = new AbortController();
  const out = new LiveReport({ fd: 1, json: opts.json, syscallNames: opts.syscallNames, onClosed: () => stop.abort() });
  if (!opts.quiet) process.stderr.write(`lkst: streaming ${plan.describe} ${untilText(command, opts)}\n`);
  // The command's stdout goes to stderr: stdout carries only the events.
  const result = await runRecording(command, { ...opts, poll: opts.poll ?? STREAM_POLL_MS }, plan, { workDir: process.cwd(), live: out, commandStdio: ['inherit', 2, 'inherit'] }, stop);
  result.discard();
  const s = await out.finish(result.kernelStats);
  if (s.error) throw new LkstError(`cannot write the events to stdout (${errnoCode(s.error) ?? s.error})`, 'check where stdout goes');
  if (s.closed) return 0; // the reader had enough (| head)
  if (!opts.quiet) process.stderr.write(streamTotals(s, result.elapsedMs));
  return result.commandExitCode ?? 0;
}

/** The closing lines: warnings, then the events and losses in the words of record's summary. */
export function streamTotals(s: LiveSummary, elapsedMs: number): string {
  const n = (x: number) => grouped(x);
  const t = totalLoss(s.loss.cpus);
  const unmarked = s.loss.unplaced.reduce((sum, p) => sum + p.count, 0);
  let line = `lkst: streamed ${n(s.printed)} events in ${(elapsedMs / 1000).toFixed(1)} s, ${lossText(t)}`;
  // The kernel stores a mark's count only when the page has room for it (rarely: it flags full pages).
  if (t.lost) line += `: ${n(t.lost - unmarked)} counted at the marks in the output, ${n(unmarked)} at marks without a count or after the last event (LOST EVENTS: use a larger -b or a smaller event set)`;
  if (s.late) line += `; ${n(s.late)} events came after later ones`;
  return [...s.warnings.map((w) => `lkst: warning: ${w}`), line].join('\n') + '\n';
}
