/**
 * `lkst bench` with its default settings (every workload; no tracing, off, default, all; trace-cmd
 * on the same events): the cost of tracing on this machine. LKST_BENCH_RUNS overrides the runs;
 * LKST_BENCH_OUT=DIR also writes bench.md, bench.json and bench.svg there.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { DEFAULT_MASKSETS, runBench } from '../src/bench/bench.js';
import { WORKLOAD_NAMES } from '../src/bench/workload.js';
import { writeReport } from '../src/bench/output.js';
import { renderTable } from '../src/bench/render/table.js';
import { progressLine } from '../src/cli/commands/bench.js';
import { reportError } from '../src/cli/run.js';

try {
  const report = await runBench({
    workloads: [...WORKLOAD_NAMES],
    masksets: DEFAULT_MASKSETS,
    runs: Number(process.env.LKST_BENCH_RUNS ?? 3),
    compareTraceCmd: true,
    onProgress: (p) => process.stderr.write(progressLine(p)),
  });
  process.stdout.write(renderTable(report));
  const out = process.env.LKST_BENCH_OUT;
  if (out) {
    mkdirSync(out, { recursive: true });
    for (const f of ['bench.md', 'bench.json', 'bench.svg']) writeReport(join(out, f), report);
  }
} catch (err) {
  process.exitCode = reportError(err);
}
