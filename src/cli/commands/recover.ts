// `lkst recover DUMP [-o FILE] [--kernel VMLINUX|VMLINUZ] [--system-map FILE]`.
import type { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { checkOutputPath } from '../../base/output-path.js';
import { formatSummary, writeRecovery } from '../../crash/command.js';
import { recoverFromDump } from '../../crash/recover.js';
import { LkstError } from '../../base/errors.js';
import { recoverPartialCommand } from './recover-partial.js';
import { formatLastBoot, recoverLastBoot } from '../../crash/last-boot.js';

export interface RecoverCommandOptions {
  /** trace.dat to write; default DUMPNAME.trace.dat in the current directory. */
  output?: string;
  /** vmlinux or vmlinuz of the crashed kernel (symbols and BTF when the dump lacks them). */
  kernel?: string;
  systemMap?: string;
  /** trace.dat from the same kernel build, for event formats the dump cannot give. */
  formatsFrom?: string;
  /** Print the summary as JSON instead of text. */
  json?: boolean;
  /** How many of the last events before the panic to list (default 20). */
  last?: number;
}

/** Runs the command; returns the exit code. Errors other than LkstError propagate. */
export async function recoverCommand(dump: string, opts: RecoverCommandOptions = {}, print: (text: string) => void = (t) => console.log(t)): Promise<number> {
  checkOutputPath(resolve(opts.output ?? `${basename(dump)}.trace.dat`), { inputs: [dump] });
  const progress = scanProgress(dump);
  let rec;
  try {
    rec = recoverFromDump(dump, { systemMap: opts.systemMap, kernel: opts.kernel, formatsFrom: opts.formatsFrom, lastEvents: opts.last, progress: progress.report });
  } finally {
    progress.end();
  }
  const output = opts.output ?? `${basename(dump)}.trace.dat`;
  try {
    await writeRecovery(rec, output);
  } finally {
    rec.close();
  }
  print(opts.json ? JSON.stringify(rec.summary, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) : formatSummary(rec.summary, output));
  return 0;
}

const GiB = 1 << 30;

/**
 * How far a scan of a raw image has got, on one line of a terminal's stderr (nothing when stderr
 * is not a terminal), redrawn at most every 1% and cleared at the end.
 */
export function scanProgress(dump: string, out: NodeJS.WriteStream = process.stderr): { report?: (done: number, total: number) => void; end(): void } {
  if (!out.isTTY) return { end: () => undefined };
  let shown = -1;
  let drawn = false;
  return {
    report: (done, total) => {
      const pct = Math.floor((done / total) * 100);
      if (pct === shown || total < GiB) return;
      shown = pct;
      drawn = true;
      out.write(`\rscanning ${basename(dump)} for the kernel's VMCOREINFO: ${pct}% of ${(total / GiB).toFixed(1)} GiB`);
    },
    end: () => {
      if (drawn) out.write('\r\x1b[K');
    },
  };
}

/** Registers `lkst recover` on a commander program (errors reach the CLI's own reporter). */
export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description('read the ftrace buffers (top level and instances) out of a crash dump into a trace.dat; with --partial, finish a recording that was killed or ran out of disk')
    .argument('[dump]', 'ELF vmcore, kdump-compressed dump (plain or flattened) or raw memory image')
    .option('--partial [dir]', 'write the trace of an interrupted `lkst record` from the pages it left in DIR (default: .)')
    .option('--last-boot', "write the previous boot's events from the boot-persistent instance (see `lkst boot enable`; Linux 6.12+)")
    .option('--instance <name>', 'with --last-boot: the boot-persistent instance to read (default: lkst_boot, or the only one)')
    .option('-o, --output <file>', 'trace.dat to write (default: DUMPNAME.trace.dat)')
    .option('--kernel <vmlinux>', 'vmlinux of the crashed kernel, for symbols and BTF the dump lacks')
    .option('--system-map <file>', 'System.map of the crashed kernel, for symbols the dump lacks')
    .option('--formats-from <trace.dat>', 'a trace recorded on the same kernel build, for event formats the dump lacks')
    .option('--last <n>', 'how many of the last events per buffer to list', (v) => Number(v), 20)
    .option('--json', 'print the summary as JSON')
    .action(async (dump: string | undefined, opts: { output?: string; kernel?: string; systemMap?: string; formatsFrom?: string; last: number; json?: boolean; partial?: string | true; lastBoot?: boolean; instance?: string }) => {
      if (opts.lastBoot) {
        if (dump) throw new LkstError('--last-boot reads tracefs, not a dump', 'lkst recover --last-boot [-o FILE], or lkst recover DUMP');
        const out = opts.output ?? 'last-boot.trace.dat';
        checkOutputPath(resolve(out), { inputs: [] });
        const r = await recoverLastBoot(out, opts.instance);
        console.log(opts.json ? JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2) : formatLastBoot(r));
        return;
      }
      if (opts.partial !== undefined) {
        process.exitCode = await recoverPartialCommand(typeof opts.partial === 'string' ? opts.partial : (dump ?? '.'), opts);
        return;
      }
      if (!dump) throw new LkstError('recover needs a crash dump', 'lkst recover DUMP [-o FILE], or lkst recover --partial DIR for an interrupted recording');
      process.exitCode = await recoverCommand(dump, { ...opts });
    });
}
