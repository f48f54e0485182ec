/**
 * `lkst record` vs `trace-cmd record` on the same event storm and buffer size: events captured,
 * events lost, and the recorder's own CPU time per million events (the whole recorder process tree,
 * not the workload), as medians over interleaved runs and as ratios lkst / trace-cmd.
 *
 * Environment: LKST_BENCH_RUNS (default 5), LKST_BENCH_STORM (dd writes of 1 byte, default 1000000),
 * LKST_BENCH_BUFFER_KB (default 1408, trace-cmd's default), LKST_BENCH_JSON (write the figures there).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordBenchmark, renderRecordBench } from '../src/bench/record-bench.js';
import { reportError } from '../src/cli/run.js';

const dir = mkdtempSync(join(process.env.LKST_BENCH_TMP || tmpdir(), 'lkst-bench-record-'));
try {
  const result = await recordBenchmark({
    runs: Number(process.env.LKST_BENCH_RUNS ?? 5),
    lkstArgs: process.env.LKST_BENCH_LKST_ARGS?.split(/\s+/).filter(Boolean),
    stormWrites: Number(process.env.LKST_BENCH_STORM ?? 1_000_000),
    bufferKbPerCpu: Number(process.env.LKST_BENCH_BUFFER_KB ?? 1408),
    workDir: dir,
    onProgress: (line) => process.stderr.write(line + '\n'),
  });
  process.stdout.write(renderRecordBench(result));
  if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify(result, null, 2) + '\n');
} catch (err) {
  process.exitCode = reportError(err);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
