#!/usr/bin/env node
import { Command, CommanderError } from './commander.js';
import { reportError } from './run.js';

const program = new Command();
program
  .name('lkst')
  .description('Linux Kernel State Tracer: trace the running kernel, switch what is traced at run time, read traces back')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

type Register = (program: Command) => void;

// Each command's module, loaded only when that command runs: loading every command's modules costs
// ~0.4 s of CPU, more than a cached query or a `state --at` takes, and `lkst record`'s own CPU time
// is the recorder's cost (timed against trace-cmd record). Help and unknown names load them all.
const COMMANDS: Record<string, () => Promise<Register>> = {
  record: async () => (await import('./commands/record.js')).registerRecord,
  stream: async () => (await import('./commands/stream.js')).registerStream,
  report: async () => (await import('./commands/report.js')).registerReport,
  events: async () => (await import('./commands/events.js')).registerEvents,
  start: async () => (await import('./commands/armed.js')).registerArmed,
  stop: async () => (await import('./commands/armed.js')).registerArmed,
  status: async () => (await import('./commands/armed.js')).registerArmed,
  maskset: async () => (await import('./commands/maskset.js')).registerMaskset,
  handler: async () => (await import('./commands/handler.js')).registerHandler,
  watch: async () => (await import('./commands/watch.js')).registerWatch,
  recover: async () => (await import('./commands/recover.js')).registerRecover,
  reset: async () => (await import('./commands/reset.js')).registerReset,
  features: async () => (await import('./commands/features.js')).registerFeatures,
  buffer: async () => (await import('./commands/buffer.js')).registerBuffer,
  logd: async () => (await import('./commands/logd.js')).registerLogd,
  stats: async () => (await import('./commands/stats.js')).registerStats,
  state: async () => (await import('./commands/state.js')).registerState,
  analyze: async () => (await import('./commands/analyze.js')).registerAnalyze,
  query: async () => (await import('./commands/query.js')).registerQuery,
  export: async () => (await import('./commands/export.js')).registerExport,
  bench: async () => (await import('./commands/bench.js')).registerBench,
  view: async () => (await import('./commands/view.js')).registerView,
  cache: async () => (await import('./commands/cache.js')).registerCache,
  probe: async () => (await import('./commands/probe.js')).registerProbe,
  boot: async () => (await import('./commands/boot.js')).registerBoot,
};

// No top-level await: the bundle users run (dist/lkst, scripts/bundle.ts) is CommonJS, loaded through V8's code cache.
async function main(): Promise<void> {
  const asked = process.argv[2];
  if (asked !== undefined && Object.hasOwn(COMMANDS, asked)) {
    (await COMMANDS[asked]!())(program);
    // For the bundle's launcher (launch.ts): a command it may keep V8's code cache of.
    (globalThis as Record<symbol, unknown>)[Symbol.for('lkst.command')] = asked;
  }
  else for (const register of new Set(await Promise.all(Object.values(COMMANDS).map((load) => load())))) register(program);

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
}

void main();
