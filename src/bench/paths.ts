import { join } from 'node:path';

/** Where benchmarks keep compiled helpers and unpacked workloads between runs (LKST_BENCH_DIR overrides). */
export function benchCacheDir(): string {
  return process.env.LKST_BENCH_DIR || join('/var/tmp', 'lkst-bench');
}
