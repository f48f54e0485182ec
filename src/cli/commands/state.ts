import type { Command } from 'commander';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { filterTasks, stateAt } from '../../analysis/state.js';
import { renderState } from '../../analysis/render.js';
import { toJsonText } from '../../analysis/event.js';
import { fmtTs, parseTraceTime } from '../../analysis/time.js';
import { summaryCheckpoint, traceSummary, type TraceSummary } from '../../analysis/cache/summary.js';
import { LkstError } from '../../base/errors.js';

export function registerState(program: Command): void {
  program
    .command('state')
    .description('the state of the kernel at one moment: what ran on each CPU, every task’s state and syscall, pending timers, locks')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .requiredOption('--at <time>', 'seconds as in the report (809.394135), with a unit (809394135us), +OFFSET from the start (+1.5s), or end (the last event: the crash, in a recovered trace)')
    .option('--pid <pid>', 'only this task; repeatable', (v: string, p: number[]) => [...p, pidOption(v)], [] as number[])
    .option('--comm <text>', 'only tasks whose name contains this')
    .option('--alive', 'leave out tasks that exited')
    .option('--json', 'print JSON')
    .option('--no-cache', "neither read nor write the trace's cache (its span, losses and checkpoints of the replay; `lkst cache clear` removes it)")
    .action(
      action(async (file: string, opts: { buffer: string[]; at: string; pid: number[]; comm?: string; alive?: boolean; json?: boolean; cache: boolean }) =>
        withTrace({ path: file, buffers: opts.buffer }, (t) => {
          const sum = traceSummary(t, { cache: opts.cache });
          const at = opts.at.trim() === 'end' ? Infinity : momentInTrace(sum, opts.at);
          const st = filterTasks(stateAt(t, at, { losses: sum.losses, from: summaryCheckpoint(sum, at) }), { pids: opts.pid, comm: opts.comm, alive: opts.alive });
          process.stdout.write(opts.json ? toJsonText(st) + '\n' : renderState(st));
        }),
      ),
    );
}

/** The moment --at names, refused when it lies outside the trace (the state there would be made up). */
function momentInTrace({ first, last }: TraceSummary, text: string): number {
  if (Number.isNaN(first)) throw new LkstError('the trace holds no events', 'record one with events in it');
  const at = parseTraceTime(text, first);
  const span = `give a time from ${fmtTs(first)} to ${fmtTs(last)}, +OFFSET up to +${((last - first) / 1e9).toFixed(6)}s, or end`;
  if (at < first) throw new LkstError(`--at ${text} is before the trace's first event (${fmtTs(first)})`, span);
  if (at > last) throw new LkstError(`--at ${text} is after the trace's last event (${fmtTs(last)})`, span);
  return at;
}

function pidOption(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new LkstError(`--pid ${v} is not a process id`, 'give a number, e.g. --pid 1234');
  return n;
}
