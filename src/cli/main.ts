#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { reportError } from './run.js';

const program = new Command();
program
  .name('lkst')
  .description('Linux Kernel State Tracer: trace the running kernel, switch what is traced at run time, read traces back')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// `lkst report` reads big traces and is timed against trace-cmd: it loads only its own command's
// modules (loading every command's takes ~70 ms more). So does `lkst record`, whose own CPU time
// is the recorder's cost (timed against trace-cmd record).
if (process.argv[2] === 'report') (await import('./commands/report.js')).registerReport(program);
else if (process.argv[2] === 'record') (await import('./commands/record.js')).registerRecord(program);
else if (process.argv[2] === 'stream') (await import('./commands/stream.js')).registerStream(program);
// A query on a cached trace takes well under a second: loading every other command would be a third of it.
else if (process.argv[2] === 'query') (await import('./commands/query.js')).registerQuery(program);
else await registerAll(program);

async function registerAll(program: Command): Promise<void> {
  const [record, stream, report, events, armed, maskset, handler, recover, reset, features, buffer, logd, stats, state, analyze, query, exp, bench, view, cache, probe] = await Promise.all([
    import('./commands/record.js'),
    import('./commands/stream.js'),
    import('./commands/report.js'),
    import('./commands/events.js'),
    import('./commands/armed.js'),
    import('./commands/maskset.js'),
    import('./commands/handler.js'),
    import('./commands/recover.js'),
    import('./commands/reset.js'),
    import('./commands/features.js'),
    import('./commands/buffer.js'),
    import('./commands/logd.js'),
    import('./commands/stats.js'),
    import('./commands/state.js'),
    import('./commands/analyze.js'),
    import('./commands/query.js'),
    import('./commands/export.js'),
    import('./commands/bench.js'),
    import('./commands/view.js'),
    import('./commands/cache.js'),
    import('./commands/probe.js'),
  ]);
  for (const register of [record.registerRecord, stream.registerStream, report.registerReport, events.registerEvents, armed.registerArmed, maskset.registerMaskset, handler.registerHandler, recover.registerRecover, reset.registerReset, features.registerFeatures]) register(program);
  buffer.registerBuffer(program);
  logd.registerLogd(program);
  stats.registerStats(program);
  state.registerState(program);
  analyze.registerAnalyze(program);
  query.registerQuery(program);
  exp.registerExport(program);
  bench.registerBench(program);
  view.registerView(program);
  cache.registerCache(program);
  probe.registerProbe(program);
  (await import('./commands/boot.js')).registerBoot(program);
}

// Commands that finish interrupted recordings themselves do not announce them.
if (!['recover', 'reset', undefined].includes(process.argv[2]) && !process.argv.includes('-q')) process.stderr.write(await (await import('./interrupted-notice.js')).interruptedNotice());

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else process.exitCode = reportError(err);
}
