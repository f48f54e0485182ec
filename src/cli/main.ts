#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { reportError } from './run.js';
import { registerRecord } from './commands/record.js';
import { registerReset } from './commands/reset.js';
import { registerFeatures } from './commands/features.js';
import { registerEvents } from './commands/events.js';
import { registerBuffer } from './commands/buffer.js';
import { registerLogd } from './commands/logd.js';
import { registerReport } from './commands/report.js';
import { registerMaskset } from './commands/maskset.js';
import { registerHandler } from './commands/handler.js';
import { registerArmed } from './commands/armed.js';
import { registerRecover } from '../crash/command.js';
import { registerStats } from './commands/stats.js';
import { registerState } from './commands/state.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerQuery } from './commands/query.js';
import { registerExport } from './commands/export.js';
import { registerBench } from './commands/bench.js';
import { registerView } from './commands/view.js';

const program = new Command();
program
  .name('lkst')
  .description('Linux Kernel State Tracer: trace the running kernel, switch what is traced at run time, read traces back')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of [registerRecord, registerReport, registerEvents, registerArmed, registerMaskset, registerHandler, registerRecover, registerReset, registerFeatures]) register(program);
registerBuffer(program);
registerLogd(program);
registerStats(program);
registerState(program);
registerAnalyze(program);
registerQuery(program);
registerExport(program);
registerBench(program);
registerView(program);

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else process.exitCode = reportError(err);
}
