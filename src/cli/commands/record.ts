import type { Command } from 'commander';
import { dirname, resolve as resolvePath } from 'node:path';
import { rmSync, statSync } from 'node:fs';
import { action } from '../run.js';
import { lostEvents, type RecordingResult, type RecordProgress } from '../../record/recorder.js';
import { lossText } from '../../trace/loss.js';
import { planRecording } from '../record-plan.js';
import { addRecordingOptions, runRecording, untilText, type RecordingCliOptions } from '../record-options.js';
import { LkstError } from '../../base/errors.js';
import { writeTraceDat } from '../../file/writer.js';
import { checkOutputPath } from '../../base/output-path.js';
import { grouped } from '../../base/grouped.js';

export interface RecordCliOptions extends RecordingCliOptions {
  output: string;
  quiet?: boolean;
  show?: boolean;
}

export function registerRecord(program: Command): void {
  addRecordingOptions(
    program.command('record').description('record the running kernel into a trace.dat file (default: the maskset "default", every LKST event but the lock ones)'),
  )
    .option('-o, --output <file>', 'output file; - prints the events as they happen instead, as `lkst stream` does', 'trace.dat')
    .option('-q, --quiet', 'no live line or summary')
    .option('--show', 'afterwards, print what was seen: statistics and the last events')
    .action(action(async (command: string[], opts: RecordCliOptions) => recordCommand(command, opts)));
}

export async function recordCommand(command: string[], opts: RecordCliOptions): Promise<number> {
  if (opts.output === '-') {
    if (opts.show) throw new LkstError('--show reads the recorded file: there is none with -o -', 'leave out --show, or record to a file');
    return (await import('./stream.js')).streamCommand(command, opts);
  }
  const warn = (m: string) => {
    if (!opts.quiet) process.stderr.write(`lkst: ${m}\n`);
  };
  const output = resolvePath(opts.output);
  checkOutputPath(output);
  const plan = await planRecording({ ...opts, command }, warn);
  const live = !opts.quiet && process.stderr.isTTY;
  if (!opts.quiet) process.stderr.write(`lkst: recording ${plan.describe} ${untilText(command, opts)} into ${opts.output}\n`);
  let result: RecordingResult;
  try {
    result = await runRecording(command, opts, plan, {
      workDir: dirname(output),
      output,
      onProgress: live ? (p) => process.stderr.write(`\r${liveLine(p)}\x1b[K`) : undefined,
    });
  } finally {
    if (live) process.stderr.write('\r\x1b[K');
  }
  try {
    await writeTraceDat(output, result.meta, result.cpus, { buffers: result.companion?.buffers ?? [], adoptPageFile: true });
  } catch (err) {
    // The pages and the journal stay: nothing recorded is lost to a failed write (recovery reads its own kallsyms).
    if (result.meta.kallsymsFile) rmSync(result.meta.kallsymsFile, { force: true });
    throw new LkstError(`cannot write ${output}: ${err instanceof LkstError ? err.what : String(err)}; the recording is kept in ${dirname(output)}`, `make room there, then \`lkst recover --partial ${dirname(output)}\` writes it (add -o FILE to write elsewhere)`);
  }
  result.discard();
  if (result.leaveOutRefused.length) warn(`lkst's own events are in the recording for ${result.leaveOutRefused.join(', ')} (the kernel refused the filter that leaves them out)`);
  if (!opts.quiet) process.stderr.write(summary(result, output) + (result.companion?.summary ?? []).map((l) => `${l}\n`).join(''));
  if (opts.show) await showTrace(output);
  // Stopped or removed under it by another command: the file holds less than asked for; say so in the exit code.
  if (result.interference) process.stderr.write(`lkst: the recording was cut short: ${result.interference}\n`);
  return result.commandExitCode ?? (result.interference ? 1 : 0);
}

/**
 * What a recording saw: its statistics and its last events, as `lkst stats` and `lkst report` print
 * them. Their modules load only here: the reading side would add ~60 modules to every recording's start-up.
 */
async function showTrace(path: string): Promise<void> {
  const [{ withTrace }, { traceStats }, { renderStats }, { runReport }, { TailLines }] = await Promise.all([
    import('../../analysis/open.js'),
    import('../../analysis/stats.js'),
    import('../../analysis/render.js'),
    import('../../analysis/report/index.js'),
    import('../tail-lines.js'),
  ]);
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
  return grouped(Math.round(n));
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
    rows.push([String(c.cpu), fmt(c.events), fmt(c.pages), c.pages ? (c.events / c.pages).toFixed(1) : '-', ((c.pages * r.meta.pageSize) / 1048576).toFixed(2), fmt(l), fmt(k?.overrun ?? 0), fmt(k?.droppedEvents ?? 0)]);
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
