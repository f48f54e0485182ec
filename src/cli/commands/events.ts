import type { Command } from 'commander';
import { action } from '../run.js';
import { availableEvents } from '../../events/live.js';
import { renderCatalog, renderKernelTracepoints } from '../../events/catalog-view.js';
import { eventFields, renderEventFields } from '../../events/fields-view.js';

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description("the LKST event catalog by category, with the tracepoints behind each and whether this kernel has them")
    .option('--kernel [glob]', "list this kernel's tracepoints instead (optionally matching GLOB, e.g. 'sched:*')")
    .option('--fields <name>', "each event's fields (name, C type, offset, size, signed) and print format; an LKST name, system:event or glob")
    .action(
      action((opts: { kernel?: string | boolean; fields?: string }) => {
        const available = availableEvents();
        const text =
          opts.fields !== undefined
            ? renderEventFields(eventFields([opts.fields], available))
            : opts.kernel !== undefined
              ? renderKernelTracepoints(available, typeof opts.kernel === 'string' ? opts.kernel : undefined)
              : renderCatalog(available);
        process.stdout.write(text.endsWith('\n') ? text : text + '\n');
      }),
    );
}
