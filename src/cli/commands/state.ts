import type { Command } from 'commander';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { stateAt } from '../../analysis/state.js';
import { renderState } from '../../analysis/render.js';
import { toJsonText } from '../../analysis/event.js';
import { parseTraceTime } from '../../analysis/time.js';
import { firstEventTs } from '../../analysis/stream.js';

export function registerState(program: Command): void {
  program
    .command('state')
    .description('the state of the kernel at one moment: what ran on each CPU, every task’s state and syscall, pending timers, locks')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .requiredOption('--at <time>', 'seconds as in the report (809.394135), with a unit (809394135us), +OFFSET from the start (+1.5s), or end (the last event: the crash, in a recovered trace)')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, opts: { buffer: string[]; at: string; json?: boolean }) =>
        withTrace({ path: file, buffers: opts.buffer }, (t) => {
          const first = opts.at.trim().startsWith('+') ? firstEventTs(t) : 0;
          const at = opts.at.trim() === 'end' ? Infinity : parseTraceTime(opts.at, first);
          const st = stateAt(t, at);
          process.stdout.write(opts.json ? toJsonText(st) + '\n' : renderState(st));
        }),
      ),
    );
}
