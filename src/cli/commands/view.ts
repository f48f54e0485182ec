import type { Command } from 'commander';
import { basename } from 'node:path';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { buildTimeline } from '../../web/timeline.js';
import { startViewer } from '../../web/server.js';
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
        const timeline = await withTrace({ path: file, buffers: opts.buffer }, (t) => {
          const first = [opts.from, opts.to].some((x) => x?.trim().startsWith('+')) ? firstEventTs(t) : 0;
          const win = { from: opts.from ? parseTraceTime(opts.from, first) : undefined, to: opts.to ? parseTraceTime(opts.to, first) : undefined };
          return buildTimeline(t, win);
        });
        const v = await startViewer(timeline, { title: basename(file) });
        process.stderr.write(`lkst: ${timeline.ev.ts.length.toLocaleString('en-US')} events prepared in ${Date.now() - started} ms; serving on 127.0.0.1 only (Ctrl-C stops)\n`);
        process.stdout.write(`${v.url}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await v.close();
      }),
    );
}
