import type { Command } from 'commander';
import { basename } from 'node:path';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { buildViewData } from '../../web/view-data.js';
import { startViewer } from '../../web/server.js';
import { summaryInWorker } from '../../web/summary.js';
import { firstEventTs } from '../../analysis/stream.js';
import { parseTraceTime } from '../../analysis/time.js';

export function registerView(program: Command): void {
  program
    .command('view')
    .description('a timeline of the trace in the browser (served on 127.0.0.1 with a private token; Ctrl-C stops)')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .option('--from <time>', 'show from this time (as for state --at: 809.39, +1.5s); earlier events still build the state')
    .option('--to <time>', 'show up to this time')
    .action(
      action(async (file: string, opts: { buffer: string[]; from?: string; to?: string }) => {
        const started = Date.now();
        await withTrace({ path: file, buffers: opts.buffer }, async (t) => {
          const first = [opts.from, opts.to].some((x) => x?.trim().startsWith('+')) ? firstEventTs(t) : 0;
          const win = { from: opts.from ? parseTraceTime(opts.from, first) : undefined, to: opts.to ? parseTraceTime(opts.to, first) : undefined };
          const data = buildViewData(t, basename(file), win);
          // The side panel's analyses run in a worker once the timeline is served: started earlier,
          // on a busy machine they slow the pass the first paint waits for.
          const summary = summaryInWorker(file, opts.buffer, win.to);
          summary.catch(() => {});
          const v = await startViewer(data, { summary });
          process.stderr.write(`lkst: ${data.meta.events.toLocaleString('en-US')} events summarised in ${Date.now() - started} ms; serving on 127.0.0.1 only (Ctrl-C stops)\n`);
          process.stdout.write(`${v.url}\n`);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          await v.close();
        });
      }),
    );
}
