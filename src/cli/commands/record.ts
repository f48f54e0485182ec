import type { Command } from 'commander';
import { dirname, resolve as resolvePath } from 'node:path';
import { statSync } from 'node:fs';
import { action, numberOption } from '../run.js';
import { record, lostEvents, type RecordingResult, type RecordProgress } from '../../record/recorder.js';
import { lossText } from '../../trace/loss.js';
import { planRecording, type EventPick } from '../record-plan.js';
import { InvalidArgumentError } from 'commander';
import { writeTraceDat } from '../../file/writer.js';
import { checkOutputPath } from '../../record/output-path.js';
import { withTrace } from '../../analysis/open.js';
import { traceStats } from '../../analysis/stats.js';
import { renderStats } from '../../analysis/render.js';
import { runReport } from '../../analysis/report/index.js';
import { TailLines } from '../tail-lines.js';
import { addScopeOptions, type ScopeCliOptions } from '../record-scope.js';

export interface RecordCliOptions extends ScopeCliOptions {
  event?: EventPick[];
  output: string;
  duration?: number;
  buffer?: number;
  subbuf?: number;
  clock?: string;
  poll?: number;
  quiet?: boolean;
  show?: boolean;
  maskset?: string[];
  skipMissing?: boolean;
  attach?: boolean;
}

export function registerRecord(program: Command): void {
  // -f filters the -e before it: both fill one list, in command-line order.
  const picks: EventPick[] = [];
  const cmd = program
    .command('record')
    .description('record the running kernel into a trace.dat file (default: the maskset "default", every LKST event but the lock ones)')
    .option('-e, --event <name>', 'event to record: LKST name (PROCESS_CONTEXTSWITCH), system:event, system:*, or a category; repeatable; adds to -m', (name: string) => {
      picks.push({ name });
      return picks;
    })
    .option('-f, --filter <expr>', "record the -e before it only when this kernel filter expression on its fields holds (e.g. 'prev_pid == 1')", (expr: string) => {
      const last = picks[picks.length - 1];
      if (!last) throw new InvalidArgumentError('-f filters the -e before it: put it after an -e');
      if (last.filter !== undefined) throw new InvalidArgumentError(`-e ${last.name} already has a -f: join the expressions with && or ||`);
      last.filter = expr;
      return expr;
    })
    .option('-m, --maskset <name>', 'record what this maskset says (default: the maskset "default"); repeatable, the entries merged', collect, [])
    .option('--skip-missing', "with -m: leave out events this kernel lacks instead of refusing");
  addScopeOptions(cmd)
    .option('--attach', 'stream the trace armed by `lkst start` (it stays armed afterwards)')
    .option('-o, --output <file>', 'output file', 'trace.dat')
    .option('-d, --duration <seconds>', 'stop after this many seconds', numberOption('--duration', 0))
    .option('-b, --buffer <kb>', 'ring-buffer size per CPU in KiB', numberOption('--buffer', 4))
    .option('--subbuf <kb>', 'ring-buffer page (sub-buffer) size in KiB, where the kernel allows it', numberOption('--subbuf', 4))
    .option('--clock <name>', 'trace clock (see `lkst features`)')
    .option('--poll <ms>', 'how often the buffers are drained', numberOption('--poll', 1))
    .option('-q, --quiet', 'no live line or summary')
    .option('--show', 'afterwards, print what was seen: statistics and the last events')
    .argument('[command...]', 'run this command and stop when it exits (put it after --)')
    .action(action(async (command: string[], opts: RecordCliOptions) => recordCommand(command, opts)));
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export async function recordCommand(command: string[], opts: RecordCliOptions): Promise<number> {
  const warn = (m: string) => {
    if (!opts.quiet) process.stderr.write(`lkst: ${m}\n`);
  };
  const output = resolvePath(opts.output);
  checkOutputPath(output);
  const plan = await planRecording({ ...opts, command }, warn);
  const ctrl = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130); // the exit hook still removes our instance
    ctrl.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const live = !opts.quiet && process.stderr.isTTY;
  if (!opts.quiet) {
    const until = command.length ? `until ${command[0]} exits` : opts.duration !== undefined ? `for ${opts.duration} s` : 'until Ctrl-C';
    process.stderr.write(`lkst: recording ${plan.describe} ${until} into ${opts.output}\n`);
  }
  let result: RecordingResult;
  try {
    result = await record({
      ...plan.options,
      workDir: dirname(output),
      bufferKbPerCpu: opts.buffer,
      subbufKb: opts.subbuf,
      clock: opts.clock,
      durationSec: command.length ? undefined : opts.duration,
      command,
      pollMs: opts.poll,
      signal: ctrl.signal,
      onProgress: live ? (p) => process.stderr.write(`\r${liveLine(p)}\x1b[K`) : undefined,
    });
  } finally {
    plan.finish();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    if (live) process.stderr.write('\r\x1b[K');
  }
  try {
    await writeTraceDat(output, result.meta, result.cpus);
  } finally {
    result.discard();
  }
  if (result.leaveOutRefused.length) warn(`lkst's own events are in the recording for ${result.leaveOutRefused.join(', ')} (the kernel refused the filter that leaves them out)`);
  if (!opts.quiet) process.stderr.write(summary(result, output));
  if (opts.show) await showTrace(output);
  return result.commandExitCode ?? 0;
}

/** What a recording saw: its statistics and its last events, as `lkst stats` and `lkst report` print them. */
async function showTrace(path: string): Promise<void> {
  await withTrace(path, (t) => process.stdout.write(renderStats(traceStats(t), 10)));
  const tail = new TailLines(20);
  await runReport(path, { out: tail });
  await new Promise<void>((r) => tail.end(r));
  process.stdout.write(`\nLast events (all of them: lkst report ${path})\n${tail.text()}`);
}

export function liveLine(p: RecordProgress): string {
  const s = p.elapsedMs / 1000;
  return `  ${s.toFixed(0)} s  ${fmt(p.events)} events (${fmt(p.events / Math.max(s, 0.001))}/s)  ${(p.bytes / 1048576).toFixed(1)} MiB  lost ${fmt(p.lost)}`;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The per-CPU summary printed at the end of a recording. */
export function summary(r: RecordingResult, output: string): string {
  const rows = [['CPU', 'events', 'pages', 'ev/page', 'MiB', 'lost', 'overrun', 'dropped']];
  let events = 0;
  let lost = 0;
  let before = 0;
  r.captures.forEach((c, i) => {
    const k = r.kernelStats[i];
    const l = lostEvents(c, k, r.kernelStatsAtStart[i]);
    before += r.kernelStatsAtStart[i] ? r.kernelStatsAtStart[i]!.overrun + r.kernelStatsAtStart[i]!.droppedEvents : 0;
    events += c.events;
    lost += l;
    rows.push([String(c.cpu), fmt(c.events), fmt(c.pages), c.pages ? (c.events / c.pages).toFixed(1) : '-', (c.bytes / 1048576).toFixed(2), fmt(l), fmt(k?.overrun ?? 0), fmt(k?.droppedEvents ?? 0)]);
  });
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n');
  let size = 0;
  try {
    size = statSync(output).size;
  } catch {
    /* reported by the writer */
  }
  const msPerMillion = events ? r.cpuTimeUs / 1000 / (events / 1e6) : 0;
  return (
    `${table}\n` +
    `total ${fmt(events)} events in ${(r.elapsedMs / 1000).toFixed(1)} s, ${lossText({ lost, before, exact: true })}${lost ? ' (LOST EVENTS: use a larger -b or a smaller event set)' : ''}\n` +
    `recorder CPU time ${(r.cpuTimeUs / 1000).toFixed(0)} ms${events >= 100_000 ? ` (${msPerMillion.toFixed(0)} ms per million events)` : ''}; wrote ${output} (${(size / 1048576).toFixed(1)} MiB)\n`
  );
}
