import type { Command } from 'commander';
import { basename } from 'node:path';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { buildViewData } from '../../web/view-data.js';
import { startViewer } from '../../web/server.js';
import { summaryInWorker } from '../../web/summary.js';
import { loadViewData, storeFile, storeViewData, viewCacheFiles } from '../../web/view-cache.js';
import { readFileSync } from 'node:fs';

/** The side panel's JSON from its cache file, else computed and stored there. */
async function cachedSummary(file: string | undefined, compute: () => Promise<string>): Promise<string> {
  if (file) {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      // Not cached yet.
    }
  }
  const json = await compute();
  if (file) storeFile(file, json);
  return json;
}
import { firstEventTs } from '../../analysis/stream.js';
import { parseTraceTime } from '../../analysis/time.js';
import { grouped } from '../../base/grouped.js';

export function registerView(program: Command): void {
  program
    .command('view')
    .description('a timeline of the trace in the browser (served on 127.0.0.1 with a private token; Ctrl-C stops)')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .option('--from <time>', 'show from this time (as for state --at: 809.39, +1.5s); earlier events still build the state')
    .option('--to <time>', 'show up to this time')
    .option('--no-cache', "neither read nor write the summaries kept beside the trace (built again)")
    .action(
      action(async (file: string, opts: { buffer: string[]; from?: string; to?: string; cache: boolean }) => {
        const started = Date.now();
        await withTrace({ path: file, buffers: opts.buffer }, async (t) => {
          const first = [opts.from, opts.to].some((x) => x?.trim().startsWith('+')) ? firstEventTs(t) : 0;
          const win = { from: opts.from ? parseTraceTime(opts.from, first) : undefined, to: opts.to ? parseTraceTime(opts.to, first) : undefined };
          // Only the whole trace's summaries are kept beside it.
          const files = opts.cache && win.from === undefined && win.to === undefined ? viewCacheFiles(t) : undefined;
          let data = files && loadViewData(files.data, t, basename(file));
          const cached = !!data;
          if (!data) {
            data = buildViewData(t, basename(file), win);
            if (files) storeViewData(files.data, data);
          }
          // The side panel's analyses run in a worker once the page asks, after its first paint:
          // started earlier, on a busy machine they slow the pass and the paint.
          const stop = new AbortController();
          const summary = () => cachedSummary(files?.summary, () => summaryInWorker(file, opts.buffer, win.to, stop.signal));
          const v = await startViewer(data, { summary });
          process.stderr.write(`lkst: ${grouped(data.meta.events)} events ${cached ? 'read from the cache' : 'summarised'} in ${Date.now() - started} ms; serving on 127.0.0.1 only (Ctrl-C stops)\n`);
          process.stdout.write(`${v.url}\n`);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          stop.abort();
          await v.close();
        });
      }),
    );
}
