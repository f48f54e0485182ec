/**
 * `lkst recover` on crash dumps of 1 GiB (and 4 GiB) guests whose big per-CPU buffers an event
 * storm filled: wall clock, CPU time and peak RSS of the whole command (dump read, trace.dat
 * written), medians over runs, per dump format (ELF; kdump zlib flattened as QEMU writes it and
 * plain as makedumpfile -R leaves it). The goal (issue 17): 1 GiB under 3 s and 300 MB, 4 GiB
 * under 10 s.
 *
 * The dumps are made once by a QEMU guest (TCG: minutes for 4 GiB) and kept in LKST_BENCH_DUMPS
 * (default /var/tmp/lkst-bench/recover), never in the repository.
 *
 * Both guests run the same workload (every event, 32 MiB per CPU, an event storm until a CPU
 * wraps): the 4 GiB dump is 4 GiB of file (ELF) and four times the bitmaps and page tables, with
 * the same size of trace in it.
 *
 * Environment: LKST_BENCH_RUNS (default 3), LKST_BENCH_DUMPS, LKST_BENCH_RECOVER_SIZES (MiB of
 * guest memory, default "1024,4096"; making the 4 GiB guest's dumps the first time takes about
 * two minutes of TCG and 4.2 GB of disk), LKST_BENCH_JSON (write the figures there).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/bench/stats.js';
import { crashGuest } from '../scripts/crash/crash-guest.js';
import { cliPath } from '../src/base/project-root.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = cliPath();
const SCRIPTS = join(ROOT, 'scripts/crash');
const RUNS = Number(process.env.LKST_BENCH_RUNS ?? 3);
const STORE = process.env.LKST_BENCH_DUMPS ?? '/var/tmp/lkst-bench/recover';
const SIZES = (process.env.LKST_BENCH_RECOVER_SIZES ?? '1024,4096').split(',').map(Number);

interface Row { guestMiB: number; format: string; dumpBytes: number; events: number; wallS: number; cpuS: number; maxRssMB: number; runs: number; load: number }

/** The guest's dumps (ELF, flattened kdump zlib, plain kdump), made once and kept. */
async function dumpsOf(mib: number): Promise<Record<string, string>> {
  const dir = join(STORE, `${mib}m`);
  const want = { elf: join(dir, 'vmcore.elf'), 'kdump-zlib flat': join(dir, 'vmcore.kdump'), 'kdump-zlib plain': join(dir, 'vmcore.plain') };
  if (existsSync(want.elf) && existsSync(want['kdump-zlib flat'])) {
    if (!existsSync(want['kdump-zlib plain'])) makePlain(want['kdump-zlib flat'], want['kdump-zlib plain']);
    return existsSync(want['kdump-zlib plain']) ? want : { elf: want.elf, 'kdump-zlib flat': want['kdump-zlib flat'] };
  }
  mkdirSync(dir, { recursive: true });
  const kernelDir = execFileSync('sh', [join(SCRIPTS, 'fetch-kernel.sh'), '6.1'], { encoding: 'utf8' }).trim();
  const initramfs = join(dir, 'initramfs.gz');
  execFileSync('sh', [join(SCRIPTS, 'make-initramfs.sh'), kernelDir, initramfs], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.stderr.write(`making the ${mib} MiB guest's dumps in ${dir} (once)\n`);
  const r = await crashGuest({ kernelDir, initramfs, outDir: dir, nonce: 'bench', mode: 'big', memMiB: mib, formats: ['elf', 'kdump-zlib'], timeoutMs: 900_000 });
  if (!r.panicked) throw new Error(`the ${mib} MiB guest did not panic`);
  makePlain(want['kdump-zlib flat'], want['kdump-zlib plain']);
  return want;
}

function makePlain(flat: string, plain: string): void {
  const r = spawnSync('sh', ['-c', 'makedumpfile -R "$1" < "$2"', 'sh', plain, flat], { stdio: 'ignore' });
  if (r.status !== 0) rmSync(plain, { force: true });
}

/** One `lkst recover` under GNU time: wall seconds, CPU seconds, max RSS in MB, events recovered. */
function recoverOnce(dump: string, out: string): { wall: number; cpu: number; rss: number; events: number } {
  const r = spawnSync('/usr/bin/time', ['-f', 'LKSTTIME %e %U %S %M', process.execPath, CLI, 'recover', dump, '-o', out, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`lkst recover ${dump} failed: ${r.stderr}`);
  const t = /LKSTTIME (\S+) (\S+) (\S+) (\d+)/.exec(r.stderr);
  if (!t) throw new Error(`no timing from /usr/bin/time: ${r.stderr}`);
  const summary = JSON.parse(r.stdout) as { buffers: Array<{ cpus: Array<{ events: number }> }> };
  const events = summary.buffers.reduce((n, b) => n + b.cpus.reduce((m, c) => m + c.events, 0), 0);
  return { wall: Number(t[1]), cpu: Number(t[2]) + Number(t[3]), rss: Number(t[4]) / 1024, events };
}

const rows: Row[] = [];
const work = mkdtempSync(join(tmpdir(), 'lkst-bench-recover-'));
try {
  for (const mib of SIZES) {
    for (const [format, dump] of Object.entries(await dumpsOf(mib))) {
      const runs = Array.from({ length: RUNS }, () => recoverOnce(dump, join(work, 'out.dat')));
      rows.push({
        guestMiB: mib, format, dumpBytes: statSync(dump).size, events: runs[0]!.events,
        wallS: median(runs.map((r) => r.wall)), cpuS: median(runs.map((r) => r.cpu)), maxRssMB: Math.max(...runs.map((r) => r.rss)), runs: RUNS, load: loadavg()[0]!,
      });
      process.stderr.write(`${mib} MiB ${format}: ${rows.at(-1)!.wallS} s\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const lines = ['guest     format            dump size   events      wall (median)  CPU     max RSS  load', ...rows.map((r) =>
  `${`${r.guestMiB} MiB`.padEnd(10)}${r.format.padEnd(18)}${`${(r.dumpBytes / 2 ** 20).toFixed(0)} MiB`.padEnd(12)}${String(r.events).padEnd(12)}${`${r.wallS.toFixed(2)} s`.padEnd(15)}${`${r.cpuS.toFixed(2)} s`.padEnd(8)}${`${r.maxRssMB.toFixed(0)} MB`.padEnd(9)}${r.load.toFixed(1)}`)];
process.stdout.write(lines.join('\n') + '\n');
if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify(rows, null, 2) + '\n');
