// The kernel command line of a boot-persistent trace buffer (Linux 6.12+, kernel-parameters.txt
// reserve_mem= and trace_instance=): memory set aside at boot and an instance mapped on it, tracing
// off until `lkst boot start -m MASKSET` enables the maskset's events (filters and triggers too) and
// starts it, so a reboot never mixes two boots' events. The events are not on the command line:
// with them there, Debian's 7.3.4 emptied CPU 0's previous-boot pages at the next boot and said
// "# Current" (test/crash/last-boot-modules.test.ts), and the command line cannot carry filters.
// reserve_mem picks its memory at each boot, and KASLR may put the kernel where the last boot's
// buffer was (the buffer is then lost: the commit adding reserve_mem to trace_instance says so);
// on x86 a fixed address set aside with memmap=SIZE$ADDR is one KASLR's decompressor avoids
// (arch/x86/boot/compressed/kaslr.c, mem_avoid_memmap).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { compileMaskset } from '../masksets/compile.js';
import { loadMasksetEnv } from '../masksets/env.js';
import { BOOT_INSTANCE } from './last-boot.js';

export interface BootParams {
  /** The words to add to the kernel command line. */
  words: string[];
  maskset: string;
  sizeMb: number;
  /** Tracepoints the maskset enables (system:event), which `lkst boot start -m` turns on. */
  events: string[];
  /** Physical address of the buffer when fixed (memmap=), else reserve_mem chooses at each boot. */
  at?: bigint;
  /** What this kernel lacks, and the caveat of reserve_mem. */
  notes: string[];
}

const MiB = 1n << 20n;

export async function bootParams(maskset = 'default', sizeMb = 16, at?: bigint): Promise<BootParams> {
  if (!Number.isInteger(sizeMb) || sizeMb < 1 || sizeMb > 4096) throw new LkstError(`--size ${sizeMb} is not a whole number of MiB from 1 to 4096`, 'give the buffer size in MiB, e.g. --size 16');
  if (at !== undefined) checkFixedAddress(at, sizeMb);
  const env = await loadMasksetEnv();
  const plan = compileMaskset(env.store.load(maskset), env);
  const notes: string[] = [];
  const events = [...plan.tracepoints.values()].filter((tp) => tp.enabled).map((tp) => tp.id);
  if (plan.missing.length) notes.push(`this kernel lacks ${plan.missing.length} event(s) of the maskset; they are left out`);
  if (!events.length) throw new LkstError(`maskset ${maskset} records no event`, 'choose a maskset that records events (-m)');
  const hex = at === undefined ? '' : `0x${at.toString(16)}`;
  const words = at === undefined
    ? [`reserve_mem=${sizeMb}M:4096:${BOOT_INSTANCE}`, `trace_instance=${BOOT_INSTANCE}^traceoff@${BOOT_INSTANCE}`]
    : [`memmap=${sizeMb}M$${hex}`, `trace_instance=${BOOT_INSTANCE}^traceoff@${hex}:${sizeMb}M`];
  if (at === undefined && isX86()) {
    const spot = suggestAddress(sizeMb);
    notes.push(`reserve_mem chooses the memory at each boot: when KASLR puts the kernel where the last boot's buffer was, that buffer is lost; a fixed address KASLR avoids keeps it${spot === undefined ? ' (--at ADDR, inside System RAM of /proc/iomem)' : `, e.g. --at 0x${spot.toString(16)}`}`);
  }
  return { words, maskset, sizeMb, ...(at === undefined ? {} : { at }), events, notes };
}

function isX86(): boolean {
  return process.arch === 'x64' || process.arch === 'ia32';
}

/** System RAM ranges of /proc/iomem (top level), or undefined where unreadable or hidden (zeros when not root). */
function systemRam(): Array<[bigint, bigint]> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/iomem', 'utf8');
  } catch {
    return undefined;
  }
  const out: Array<[bigint, bigint]> = [];
  for (const m of text.matchAll(/^([0-9a-f]+)-([0-9a-f]+) : System RAM$/gm)) out.push([BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`) + 1n]);
  return out.some(([a, b]) => b > a + 1n) ? out : undefined;
}

/** memmap= is x86's; the address must be page aligned and, on this machine, inside one System RAM range. */
function checkFixedAddress(at: bigint, sizeMb: number): void {
  if (!isX86()) throw new LkstError('--at sets memory aside with memmap=, which only x86 kernels take', 'leave out --at (reserve_mem chooses the memory)');
  if (at <= 0n || at % 4096n) throw new LkstError(`--at 0x${at.toString(16)} is not a page-aligned physical address`, 'give a multiple of 4096 inside System RAM (/proc/iomem), e.g. a multiple of 1 MiB');
  const ram = systemRam();
  const end = at + BigInt(sizeMb) * MiB;
  if (ram && !ram.some(([a, b]) => at >= a && end <= b)) {
    const spot = suggestAddress(sizeMb, ram);
    throw new LkstError(`0x${at.toString(16)}-0x${end.toString(16)} is not inside one System RAM range of this machine (/proc/iomem)`, spot === undefined ? 'choose an address inside System RAM' : `choose one inside System RAM, e.g. --at 0x${spot.toString(16)}`);
  }
}

/** Midway into the largest System RAM range, away from its top where loaders put the initrd. */
function suggestAddress(sizeMb: number, ram = systemRam()): bigint | undefined {
  if (!ram) return undefined;
  const size = BigInt(sizeMb) * MiB;
  const [a, b] = ram.reduce((x, y) => (y[1] - y[0] > x[1] - x[0] ? y : x));
  if (b - a < size * 4n) return undefined;
  return ((a + (b - a) / 2n) / (2n * MiB)) * (2n * MiB);
}

/** GRUB's drop-in directory ($LKST_GRUB_DIR for tests). */
export function grubDropIn(): string {
  return join(process.env['LKST_GRUB_DIR'] || '/etc/default/grub.d', 'lkst.cfg');
}

export function installGrubDropIn(p: BootParams): string {
  const file = grubDropIn();
  const text = [
    `# Written by lkst boot enable: a ${p.sizeMb} MiB boot-persistent trace buffer recording maskset ${p.maskset}.`,
    '# Remove with lkst boot disable; either way run update-grub after.',
    // memmap's "$" goes through the shell sourcing this file and then GRUB's own expansion: \\\$.
    `GRUB_CMDLINE_LINUX_DEFAULT="\${GRUB_CMDLINE_LINUX_DEFAULT} ${p.words.join(' ').replaceAll('$', '\\\\\\$')}"`,
    '',
  ].join('\n');
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
  } catch (err) {
    throw new LkstError(`cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'run as root, or leave out --install and add the parameters yourself');
  }
  return file;
}

export function removeGrubDropIn(): string | undefined {
  const file = grubDropIn();
  try {
    rmSync(file);
    return file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LkstError(`cannot remove ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'run as root');
  }
}
