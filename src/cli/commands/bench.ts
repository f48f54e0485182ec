import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { action, numberOption } from '../run.js';
import { LkstError } from '../../base/errors.js';
import { DEFAULT_BUFFER_KB, DEFAULT_MASKSETS, parseWorkloads, runBench } from '../../bench/bench.js';
import { writeReport } from '../../bench/output.js';
import { renderTable } from '../../bench/render/table.js';
import type { RunnerProgress } from '../../bench/runner.js';
import { grouped } from '../../base/grouped.js';

interface BenchCliOptions {
  workload: string;
  masksets: string;
  runs: number;
  warmup: boolean;
  compare?: string;
  buffer: number;
  output: string[];
  syscallCalls?: number;
  buildObjects?: number;
  webSeconds?: number;
  quiet?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure what tracing costs on this machine: workloads run with no tracing, with each maskset, and (optionally) under trace-cmd')
    .option('-w, --workload <names>', 'build, web, syscall, or all (comma-separated)', 'all')
    .option('-m, --masksets <names>', 'masksets to measure (comma-separated); off = tracer present, events off', DEFAULT_MASKSETS.join(','))
    .option('-r, --runs <n>', 'measured runs per condition', numberOption('--runs', 1), 3)
    .option('--no-warmup', 'skip the warm-up round')
    .option('--compare <tool>', 'also measure another tracer recording the same events (trace-cmd)')
    .option('-b, --buffer <kb>', 'ring-buffer size per CPU for every tracer', numberOption('--buffer', 4), DEFAULT_BUFFER_KB)
    .option('-o, --output <file>', 'write the report: .md, .json or .svg by extension; repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--syscall-calls <n>', 'syscall workload: getppid() calls per run', numberOption('--syscall-calls', 1000))
    .option('--build-objects <n>', 'build workload: objects compiled per run', numberOption('--build-objects', 1))
    .option('--web-seconds <s>', 'web workload: seconds of load per run', numberOption('--web-seconds', 1))
    .option('-q, --quiet', 'no progress lines')
    .action(action(async (opts: BenchCliOptions) => benchCommand(opts)));
}

export async function benchCommand(opts: BenchCliOptions): Promise<number> {
  if (opts.compare !== undefined && opts.compare !== 'trace-cmd') throw new LkstError(`cannot compare with '${opts.compare}'`, 'the one tracer lkst compares with is trace-cmd');
  const masksets = opts.masksets.split(',').map((s) => s.trim()).filter(Boolean);
  // Found out now, not after minutes of measuring.
  for (const f of opts.output) {
    const dir = dirname(resolve(f));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LkstError(`cannot write ${f}: no directory ${dir}`, 'create it or choose another path');
  }
  const ctrl = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130); // the exit hook still removes our instances
    process.stderr.write('\nlkst bench: stopping, cleaning up (Ctrl-C again to quit at once)\n');
    ctrl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await runBench({
      workloads: parseWorkloads(opts.workload),
      masksets,
      runs: Math.round(opts.runs),
      warmup: opts.warmup,
      compareTraceCmd: opts.compare === 'trace-cmd',
      bufferKbPerCpu: opts.buffer,
      syscallCalls: opts.syscallCalls,
      buildObjects: opts.buildObjects,
      webSeconds: opts.webSeconds,
      signal: ctrl.signal,
      onProgress: opts.quiet ? undefined : (p) => process.stderr.write(progressLine(p)),
    });
    process.stdout.write(renderTable(report));
    for (const f of opts.output) {
      writeReport(f, report);
      if (!opts.quiet) process.stderr.write(`lkst bench: wrote ${f}\n`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function progressLine(p: RunnerProgress): string {
  if (p.phase === 'prepare') return `lkst bench: preparing ${p.workload}\n`;
  if (p.phase === 'run') return '';
  const s = p.sample!;
  const round = p.run === 0 ? 'warm-up' : `run ${p.run}/${p.runs}`;
  const figures = Object.entries(s.metrics)
    .map(([k, v]) => `${k} ${Number.isFinite(v) ? +v.toPrecision(4) : '-'}`)
    .join(', ');
  const ev = p.condition === 'none' ? '' : `; ${grouped(s.events)} events, lost ${grouped(s.lost)}`;
  return `  [${p.step}/${p.steps}] ${p.workload} ${round} ${p.condition}: ${figures}${ev}${s.invalid ? ` (left out: ${s.invalid})` : ''}\n`;
}
