// `lkst recover DUMP [-o FILE] [--kernel VMLINUX|VMLINUZ] [--system-map FILE]`: the CLI wires this in.
import type { Command } from 'commander';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { writeTraceDat } from '../file/writer.js';
import { dumpError } from './errors.js';
import { recoverFromDump, type RecoveredBuffer, type Recovery, type RecoverySummary } from './recover.js';

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

/**
 * Writes the recovered buffers to one trace.dat: the top-level buffer first, instances as named
 * buffers. Pages go through per-CPU spill files next to the output, one page in memory at a time.
 */
export async function writeRecovery(rec: Recovery, path: string): Promise<void> {
  const [main, ...rest] = rec.buffers;
  if (!main) throw dumpError(`no ftrace buffer could be read from the dump${rec.summary.warnings[0] ? ` (${rec.summary.warnings[0]})` : ''}`, 'nothing to write');
  let spill: string;
  try {
    spill = mkdtempSync(join(dirname(resolve(path)), `.${basename(path)}.pages-`));
  } catch (e) {
    throw dumpError(`cannot write next to ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'choose a writable directory with -o');
  }
  try {
    const pages = (b: RecoveredBuffer, n: number) => b.cpus.map((c) => {
      const file = join(spill, `${n}-${c.cpu}`);
      const fd = openSync(file, 'w');
      try {
        for (let i = 0; i < c.pageCount; i++) writeSync(fd, c.page(i));
      } finally {
        closeSync(fd);
      }
      return { cpu: c.cpu, source: file };
    });
    await writeTraceDat(path, main.meta, pages(main, 0), {
      version: `lkst recover ${rec.summary.osrelease}`,
      buffers: rest.map((b, n) => ({ name: b.name, clock: b.meta.clock, pageSize: b.meta.pageSize, cpus: pages(b, n + 1), cpuStats: b.meta.cpuStats })),
    });
  } finally {
    rmSync(spill, { recursive: true, force: true });
  }
}

/**
 * For `lkst report DUMP`: recovers the dump into a temporary trace.dat that the caller reads like
 * any other, then removes with cleanup().
 */
export async function dumpToTraceDat(dump: string, opts: { systemMap?: string; kernel?: string } = {}): Promise<{ path: string; recovery: Recovery; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'lkstcrash-report-'));
  const path = join(dir, 'recovered.dat');
  try {
    const recovery = recoverFromDump(dump, opts);
    try {
      await writeRecovery(recovery, path);
    } finally {
      recovery.close();
    }
    return { path, recovery, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export function formatSummary(s: RecoverySummary, output?: string): string {
  const sec = (ts: number | undefined) => (ts === undefined ? '-' : (ts / 1e9).toFixed(6));
  const lines = [
    `dump ${s.dump} (${s.format}), kernel ${s.osrelease}, KASLR offset 0x${s.kaslrOffset.toString(16)}, ${s.pagingLevels}-level paging`,
  ];
  if (s.panic) lines.push(`panic at ${sec(s.panic.ts)}: ${s.panic.message}`);
  for (const b of s.buffers) {
    const total = b.cpus.reduce((n, c) => n + c.events, 0);
    lines.push(`buffer ${b.name} (clock ${b.clock}, ${b.pageSize}-byte pages): ${total} events`);
    for (const c of b.cpus) {
      lines.push(`  cpu${c.cpu}: ${c.events} events in ${c.pages} pages, ${sec(c.firstTs)} .. ${sec(c.lastTs)}, overrun ${c.overrun}, dropped ${c.dropped}` +
        (c.missingPages ? `, ${c.missingPages} pages missing from the dump` : ''));
    }
  }
  for (const b of s.buffers) {
    const last = s.lastEvents.filter((e) => e.buffer === b.name);
    if (!last.length) continue;
    lines.push(`last events of buffer ${b.name} before the crash:`);
    for (const e of last) lines.push(`  ${sec(e.ts)} cpu${e.cpu} ${e.event}${e.detail ? ` ${e.detail}` : ''}`);
  }
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  lines.push(`recovered in ${s.elapsedMs} ms${output ? `, written to ${output}` : ''}`);
  return lines.join('\n');
}

/** Runs the command; returns the exit code. Errors other than LkstError propagate. */
export async function recoverCommand(dump: string, opts: RecoverCommandOptions = {}, print: (text: string) => void = (t) => console.log(t)): Promise<number> {
  const rec = recoverFromDump(dump, { systemMap: opts.systemMap, kernel: opts.kernel, formatsFrom: opts.formatsFrom, lastEvents: opts.last });
  const output = opts.output ?? `${basename(dump)}.trace.dat`;
  try {
    await writeRecovery(rec, output);
  } finally {
    rec.close();
  }
  print(opts.json ? JSON.stringify(rec.summary, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) : formatSummary(rec.summary, output));
  return 0;
}

/** Registers `lkst recover` on a commander program (errors reach the CLI's own reporter). */
export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description('read the ftrace buffers (top level and instances) out of a crash dump into a trace.dat')
    .argument('<dump>', 'ELF vmcore, kdump-compressed dump (plain or flattened) or raw memory image')
    .option('-o, --output <file>', 'trace.dat to write (default: DUMPNAME.trace.dat)')
    .option('--kernel <vmlinux>', 'vmlinux of the crashed kernel, for symbols and BTF the dump lacks')
    .option('--system-map <file>', 'System.map of the crashed kernel, for symbols the dump lacks')
    .option('--formats-from <trace.dat>', 'a trace recorded on the same kernel build, for event formats the dump lacks')
    .option('--last <n>', 'how many of the last events per buffer to list', (v) => Number(v), 20)
    .option('--json', 'print the summary as JSON')
    .action(async (dump: string, opts: { output?: string; kernel?: string; systemMap?: string; formatsFrom?: string; last: number; json?: boolean }) => {
      process.exitCode = await recoverCommand(dump, { ...opts });
    });
}
