/**
 * What `lkst record` and `lkst stream` share: the options saying what to record and how, and the
 * run of the recorder with Ctrl-C handling. A scoping option added here serves both commands.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from './commander.js';
import { numberOption } from './run.js';
import { record, type RecordOptions, type RecordingResult } from '../record/recorder.js';
import type { EventPick, RecordPlan } from './record-plan.js';
import { addScopeOptions, type ScopeCliOptions } from './record-scope.js';

export interface RecordingCliOptions extends ScopeCliOptions {
  event?: EventPick[];
  maskset?: string[];
  skipMissing?: boolean;
  attach?: boolean;
  duration?: number;
  buffer?: number;
  subbuf?: number;
  clock?: string;
  poll?: number;
}

/** Registers the recording options on a command (and its `-- COMMAND` argument). */
export function addRecordingOptions(cmd: Command): Command {
  // -f filters the -e before it: both fill one list, in command-line order.
  const picks: EventPick[] = [];
  return addScopeOptions(cmd)
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
    .option('-m, --maskset <name>', 'record what this maskset says (default: the maskset "default"); repeatable, the entries merged', (v: string, prev: string[]) => [...prev, v], [])
    .option('--skip-missing', 'with -m: leave out events this kernel lacks instead of refusing')
    .option('--attach', 'read the trace armed by `lkst start` (it stays armed afterwards)')
    .option('-d, --duration <seconds>', 'stop after this many seconds', numberOption('--duration', 0))
    .option('-b, --buffer <kb>', 'ring-buffer size per CPU in KiB', numberOption('--buffer', 4))
    .option('--subbuf <kb>', 'ring-buffer page (sub-buffer) size in KiB, where the kernel allows it', numberOption('--subbuf', 4))
    .option('--clock <name>', 'trace clock (see `lkst features`)')
    .option('--poll <ms>', 'longest wait between reads of the buffers', numberOption('--poll', 1))
    .argument('[command...]', 'run this command and stop when it exits (put it after --)');
}

/** "until CMD exits", "for N s" or "until Ctrl-C". */
export function untilText(command: readonly string[], opts: RecordingCliOptions): string {
  return command.length ? `until ${command[0]} exits` : opts.duration !== undefined ? `for ${opts.duration} s` : 'until Ctrl-C';
}

/**
 * Runs the recorder as the options say until the duration ends, the command exits or Ctrl-C
 * (a second Ctrl-C exits at once, 130; the instance is still removed). abort: another reason to stop.
 */
export async function runRecording(
  command: string[],
  opts: RecordingCliOptions,
  plan: RecordPlan,
  extra: Pick<RecordOptions, 'workDir'> & Partial<RecordOptions>,
  abort = new AbortController(),
): Promise<RecordingResult> {
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130); // the exit hook still removes our instance
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    return await record({
      ...plan.options,
      bufferKbPerCpu: opts.buffer,
      subbufKb: opts.subbuf,
      clock: opts.clock ?? plan.options.clock,
      durationSec: command.length ? undefined : opts.duration,
      command,
      pollMs: opts.poll,
      signal: abort.signal,
      ...extra,
    });
  } finally {
    plan.finish();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
