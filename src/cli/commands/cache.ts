import type { Command } from 'commander';
import { action } from '../run.js';
import { cacheInfo, clearCache, sharedCacheRoot, type CacheInfo } from '../../analysis/cache/location.js';

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** "state checkpoints: 10 (42.1 MiB), query tables: 1 (3.0 MiB)". */
export function fmtParts(c: CacheInfo): string {
  return c.parts.map((p) => `${p.what}: ${p.files} (${fmtBytes(p.bytes)})`).join(', ');
}

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('the caches lkst keeps beside traces (query tables, state checkpoints)');
  cache
    .command('show')
    .description("where a trace's caches are and their sizes")
    .argument('<file>', 'trace.dat file or crash dump')
    .action(
      action(async (file: string) => {
        const found = cacheInfo(file);
        for (const c of found) process.stdout.write(`${c.dir}\t${fmtBytes(c.bytes)}${c.current ? '' : '\tstale'}\n${c.parts.length ? `  ${fmtParts(c)}\n` : ''}`);
        if (!found.length) process.stdout.write('no cache\n');
      }),
    );
  cache
    .command('clear')
    .description(`remove a trace's caches; without FILE, every cache under ${sharedCacheRoot()} ($LKST_CACHE_DIR), used for traces in directories lkst cannot write`)
    .argument('[file]', 'trace.dat file or crash dump')
    .action(
      action(async (file: string | undefined) => {
        const gone = clearCache(file);
        for (const c of gone) process.stdout.write(`removed ${c.dir} (${fmtBytes(c.bytes)})\n`);
        if (!gone.length) process.stdout.write('no cache to remove\n');
      }),
    );
}
