import type { Command } from 'commander';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { analyzeLatency } from '../../analysis/latency.js';
import { analyzeTimers } from '../../analysis/timers.js';
import { renderLatency, renderTimers } from '../../analysis/render.js';
import { toJsonText } from '../../analysis/event.js';

export function registerAnalyze(program: Command): void {
  const analyze = program.command('analyze').description('analyses of a trace: latency, timers');
  analyze
    .command('latency')
    .description('wakeup-to-run latency per task (histogram, worst cases), time per system call, IRQ and softirq time')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .option('--json', 'print JSON')
    .option('--top <n>', 'rows per list', (v) => Number(v), 15)
    .option('--task <pid|comm>', 'also the wakeup latency histogram of this task')
    .action(
      action(async (file: string, opts: { buffer: string[]; json?: boolean; top: number; task?: string }) =>
        withTrace({ path: file, buffers: opts.buffer }, (t) => {
          const r = analyzeLatency(t);
          process.stdout.write(opts.json ? toJsonText(r) + '\n' : renderLatency(r, opts.top, opts.task));
        }),
      ),
    );
  analyze
    .command('timers')
    .description('each timer’s life (init, start, expire, cancel) and findings when a timer is used on freed memory (exit 3 on a certain finding; findings the trace cannot settle, e.g. with events lost in their window, are listed apart)')
    .argument('<file>', 'trace.dat file or crash dump (vmcore, kdump)')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .option('--json', 'print JSON')
    .option('--top <n>', 'timers listed', (v) => Number(v), 30)
    .action(
      action(async (file: string, opts: { buffer: string[]; json?: boolean; top: number }) =>
        withTrace({ path: file, buffers: opts.buffer }, (t) => {
          const r = analyzeTimers(t);
          process.stdout.write(opts.json ? toJsonText(r) + '\n' : renderTimers(r, opts.top));
          // Exit status 3 when a certain finding was made, so scripts can act on it (uncertain ones are only listed).
          return r.findings.length ? 3 : 0;
        }),
      ),
    );
}
