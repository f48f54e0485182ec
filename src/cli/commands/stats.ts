import type { Command } from 'commander';
import { action, BUFFER_OPTION, collectBuffers, printWarning } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { traceStats } from '../../analysis/stats.js';
import { renderStats } from '../../analysis/render.js';
import { toJsonText } from '../../analysis/event.js';
import { cacheInfo } from '../../analysis/cache/location.js';
import { fmtBytes, fmtParts } from './cache.js';
import { renderCounts, storedCounts } from '../../bpf/counts.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('events per type, CPU and task; lost events; time span; busiest tasks and interrupts')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .option('--json', 'print JSON')
    .option('--top <n>', 'rows in the busiest lists', (v) => Number(v), 15)
    .action(
      action(async (file: string, opts: { buffer: string[]; json?: boolean; top: number }) =>
        withTrace({ path: file, buffers: opts.buffer }, (t) => {
          const s = traceStats(t);
          const caches = cacheInfo(file);
          const counts = storedCounts(t.trace.meta.counts);
          process.stdout.write(opts.json ? toJsonText({ ...s, caches, ...(counts ? { counts } : {}) }) + '\n' : renderStats(s, opts.top));
          if (!opts.json && counts) process.stdout.write(['', 'Counts (BPF count handlers, at the end of recording)', ...renderCounts(counts, opts.top), ''].join('\n'));
          if (!opts.json) {
            for (const c of caches) process.stdout.write(`cache: ${c.dir} (${fmtBytes(c.bytes)}${c.current ? '' : ', stale: rebuilt on next use'})${c.parts.length ? `: ${fmtParts(c)}` : ''}\n`);
            if (!caches.length) process.stdout.write('cache: none (built by the first `lkst query` or `lkst state`)\n');
          }
          for (const w of t.warnings ?? []) printWarning(w);
        }),
      ),
    );
}
