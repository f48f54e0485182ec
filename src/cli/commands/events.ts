import type { Command } from 'commander';
import { action } from '../run.js';
import { availableEvents } from '../../events/live.js';
import { renderCatalog, renderKernelTracepoints } from '../../events/catalog-view.js';

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description("the LKST event catalog by category, with the tracepoints behind each and whether this kernel has them")
    .option('--kernel [glob]', "list this kernel's tracepoints instead (optionally matching GLOB, e.g. 'sched:*')")
    .action(
      action((opts: { kernel?: string | boolean }) => {
        const available = availableEvents();
        const text = opts.kernel !== undefined ? renderKernelTracepoints(available, typeof opts.kernel === 'string' ? opts.kernel : undefined) : renderCatalog(available);
        process.stdout.write(text.endsWith('\n') ? text : text + '\n');
      }),
    );
}
