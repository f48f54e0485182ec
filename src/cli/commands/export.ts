import type { Command } from 'commander';
import { checkOutputPath } from '../../base/output-path.js';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { action, BUFFER_OPTION, collectBuffers } from '../run.js';
import { withTrace } from '../../analysis/open.js';
import { withSink } from '../../export/file-sink.js';
import { exportPerfetto } from '../../export/perfetto.js';
import { exportChromeJson } from '../../export/chrome-json.js';
import { exportCsv } from '../../export/csv.js';
import { exportParquet } from '../../export/parquet.js';
import { LkstError } from '../../base/errors.js';

const FORMATS = ['perfetto', 'chrome-json', 'csv', 'parquet'] as const;
type Format = (typeof FORMATS)[number];
const EXTENSIONS: Record<Format, string> = { perfetto: 'perfetto-trace', 'chrome-json': 'json', csv: 'csv', parquet: 'parquet' };

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // absent: the export creates it
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('convert a trace for other tools: Perfetto protobuf (ui.perfetto.dev), Chrome JSON, CSV, Parquet')
    .argument('<file>', 'trace.dat file or crash dump')
    .option(BUFFER_OPTION[0], BUFFER_OPTION[1], collectBuffers, [])
    .requiredOption('--to <format>', `one of ${FORMATS.join(', ')}`)
    .requiredOption('-o, --output <file>', 'output file')
    .option('--event <name>', 'parquet: only this event type, with its fields as typed columns; or the table lost, cpus or tasks')
    .action(
      action(async (file: string, opts: { buffer: string[]; to: string; output: string; event?: string }) => {
        if (!FORMATS.includes(opts.to as Format)) throw new LkstError(`unknown export format '${opts.to}'`, `use one of ${FORMATS.join(', ')}`);
        const to = opts.to as Format;
        if (isDirectory(opts.output)) throw new LkstError(`${opts.output} is a directory`, `give a file name for the output, e.g. -o ${join(opts.output, `trace.${EXTENSIONS[to]}`)}`);
        checkOutputPath(resolve(opts.output), { inputs: [file] });
        await withTrace({ path: file, buffers: opts.buffer }, async (t) => {
          let what: string;
          if (to === 'parquet') what = `${(await exportParquet(t, opts.output, { event: opts.event })).rows} rows`;
          else if (to === 'perfetto') what = `${withSink(opts.output, (s) => exportPerfetto(t, s)).events} events`;
          else if (to === 'chrome-json') what = `${withSink(opts.output, (s) => exportChromeJson(t, s)).events} events`;
          else what = `${withSink(opts.output, (s) => exportCsv(t, s)).events} events`;
          process.stderr.write(`lkst: wrote ${what} to ${opts.output} (${to})\n`);
        });
      }),
    );
}
