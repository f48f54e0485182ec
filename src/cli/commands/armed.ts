import type { Command } from 'commander';
import { printText as print, printOutcome } from './print-text.js';
import { action, numberOption } from '../run.js';
import { startTrace, stopTrace } from '../../masksets/session.js';
import { statusReport } from '../../masksets/status.js';


/** start, stop, status: the daemon-free armed trace. */
export function registerArmed(program: Command): void {
  program
    .command('start')
    .description('arm tracing in the kernel with a maskset and return (no daemon; `lkst record --attach` streams it)')
    .option('-m, --maskset <name>', 'maskset to apply', 'default')
    .option('-b, --buffer <kb>', 'ring-buffer size per CPU in KiB', numberOption('--buffer', 4))
    .option('--skip-missing', 'apply even if some events are missing on this kernel, listing them')
    .option('--instance <name>', 'tracefs instance to arm (lkst-*)', 'lkst-trace')
    .option('--force', 'take the instance over even when another live lkst owns it')
    .action(
      action(async (o: { maskset: string; buffer?: number; skipMissing?: boolean; instance: string; force?: boolean }) =>
        printOutcome(await startTrace({ maskset: o.maskset, instance: o.instance, skipMissing: o.skipMissing ?? false, force: o.force ?? false, ...(o.buffer ? { bufferKb: o.buffer } : {}) })),
      ),
    );
  program
    .command('stop')
    .description('stop the armed trace: every event off, the buffer keeps its content')
    .option('--remove', 'also remove the buffer')
    .option('--force', 'stop it even when a running `lkst record` owns it')
    .action(action(async (o: { remove?: boolean; force?: boolean }) => printOutcome(await stopTrace({ remove: o.remove ?? false, force: o.force ?? false }))));
  program
    .command('status')
    .description('the armed trace: each event\'s handler and parameters as the kernel has them now, and the buffers')
    .option('--hooks', 'which tracepoints are live in the kernel (any instance) and which are off')
    .action(action(async (o: { hooks?: boolean }) => print(await statusReport({ hooks: o.hooks ?? false }))));
}
