/** Small real trace files for the bad-input and fuzz tests: ours (v7), and trace-cmd's zstd v7 and v6 of it. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeTraceDat } from '../../src/file/writer.js';
import { capture } from '../helpers/capture.js';

export interface SmallFiles {
  ours: string;
  zstd: string;
  v6: string;
}

export async function writeSmallFiles(dir: string): Promise<SmallFiles> {
  const cap = await capture({ events: ['sched:sched_switch', 'sched:sched_waking', 'ftrace:print'] });
  // The first few hundred kallsyms lines keep the file small and are still this kernel's own.
  const meta = { ...cap.meta, kallsyms: cap.meta.kallsyms.split('\n').slice(0, 300).join('\n') + '\n' };
  const ours = join(dir, 'small.dat');
  await writeTraceDat(ours, meta, cap.cpus);
  const zstd = join(dir, 'small-zstd.dat');
  const v6 = join(dir, 'small-v6.dat');
  for (const args of [['--compression', 'any', '-o', zstd], ['--file-version', '6', '-o', v6]]) {
    const r = spawnSync('trace-cmd', ['convert', '-i', ours, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`trace-cmd convert ${args.join(' ')} failed: ${r.stderr}`);
  }
  return { ours, zstd, v6 };
}
