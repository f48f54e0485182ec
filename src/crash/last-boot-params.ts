// The kernel command line of a boot-persistent trace buffer (Linux 6.12+, kernel-parameters.txt
// reserve_mem= and trace_instance=): memory set aside at boot, an instance mapped on it with the
// maskset's events, tracing off until `lkst boot start` so a reboot never mixes two boots' events.
// reserve_mem picks its memory at each boot, and KASLR may put the kernel where the last boot's
// buffer was (the buffer is then lost: the commit adding reserve_mem to trace_instance says so);
// on x86 a fixed address set aside with memmap=SIZE$ADDR is one KASLR's decompressor avoids
// (arch/x86/boot/compressed/kaslr.c, mem_avoid_memmap).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { availableEvents } from '../events/live.js';
import { compileMaskset } from '../masksets/compile.js';
import { loadMasksetEnv } from '../masksets/env.js';
import { BOOT_INSTANCE } from './last-boot.js';

/** x86's COMMAND_LINE_SIZE is 2048: leave room for the rest of the line. */
const MAX_PARAM_BYTES = 1536;

export interface BootParams {
  /** The words to add to the kernel command line. */
  words: string[];
  maskset: string;
  sizeMb: number;
  /** Tracepoints recorded (system:event, or a whole system). */
  events: string[];
  /** Physical address of the buffer when fixed (memmap=), else reserve_mem chooses at each boot. */
  at?: bigint;
  /** What the command line cannot carry (filters, triggers) or this kernel lacks. */
  notes: string[];
}

const MiB = 1n << 20n;

export async function bootParams(maskset = 'default', sizeMb = 16, at?: bigint): Promise<BootParams> {
  if (!Number.isInteger(sizeMb) || sizeMb < 1 || sizeMb > 4096) throw new LkstError(`--size ${sizeMb} is not a whole number of MiB from 1 to 4096`, 'give the buffer size in MiB, e.g. --size 16');
  if (at !== undefined) checkFixedAddress(at, sizeMb);
  const env = await loadMasksetEnv();
  const plan = compileMaskset(env.store.load(maskset), env);
  const notes: string[] = [];
  const enabled = [...plan.tracepoints.values()].filter((tp) => tp.enabled);
  const shaped = enabled.filter((tp) => tp.filter || tp.triggers.length).map((tp) => tp.id);
  if (shaped.length) notes.push(`the kernel command line takes event names only: ${shaped.join(', ')} record unfiltered and without triggers at boot`);
  if (plan.missing.length) notes.push(`this kernel lacks ${plan.missing.length} event(s) of the maskset; they are left out`);
  const events = compactEvents(enabled.map((tp) => [tp.system, tp.event]), availableEvents());
  if (!events.length) throw new LkstError(`maskset ${maskset} records no event`, 'choose a maskset that records events (-m)');
  const hex = at === undefined ? '' : `0x${at.toString(16)}`;
  const words = at === undefined
    ? [`reserve_mem=${sizeMb}M:4096:${BOOT_INSTANCE}`, `trace_instance=${BOOT_INSTANCE}^traceoff@${BOOT_INSTANCE},${events.join(',')}`]
    : [`memmap=${sizeMb}M$${hex}`, `trace_instance=${BOOT_INSTANCE}^traceoff@${hex}:${sizeMb}M,${events.join(',')}`];
  if (at === undefined && isX86()) {
    const spot = suggestAddress(sizeMb);
    notes.push(`reserve_mem chooses the memory at each boot: when KASLR puts the kernel where the last boot's buffer was, that buffer is lost; a fixed address KASLR avoids keeps it${spot === undefined ? ' (--at ADDR, inside System RAM of /proc/iomem)' : `, e.g. --at 0x${spot.toString(16)}`}`);
  }
  const bytes = words.join(' ').length;
  if (bytes > MAX_PARAM_BYTES) throw new LkstError(`maskset ${maskset} takes ${bytes} bytes of the kernel command line (at most ${MAX_PARAM_BYTES} of its 2048)`, 'choose a maskset with fewer events (-m), e.g. one LKST category');
  return { words, maskset, sizeMb, ...(at === undefined ? {} : { at }), events, notes };
}

function isX86(): boolean {
  return process.arch === 'x64' || process.arch === 'ia32';
}

/** System RAM ranges of /proc/iomem (top level), or undefined where unreadable or hidden (zeros when not root). */
function systemRam(): Array<[bigint, bigint]> | undefined {
  let text: string;
  try {
    text = readFileSync(process.env['LKST_IOMEM'] || '/proc/iomem', 'utf8');
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
    const spot = suggestAddress(sizeMb);
    throw new LkstError(`0x${at.toString(16)}-0x${end.toString(16)} is not inside one System RAM range of this machine (/proc/iomem)`, spot === undefined ? 'choose an address inside System RAM' : `choose one inside System RAM, e.g. --at 0x${spot.toString(16)}`);
  }
}

/** Midway into the largest System RAM range, away from its top where loaders put the initrd. */
function suggestAddress(sizeMb: number): bigint | undefined {
  const ram = systemRam();
  if (!ram) return undefined;
  const size = BigInt(sizeMb) * MiB;
  const [a, b] = ram.reduce((x, y) => (y[1] - y[0] > x[1] - x[0] ? y : x));
  if (b - a < size * 4n) return undefined;
  const mid = (a + (b - a) / 2n) / (2n * MiB) * (2n * MiB);
  return mid;
}

/** Whole systems as "system" (every event of it recorded), the rest as "system:event". */
function compactEvents(events: Array<[string, string]>, available: Set<string>): string[] {
  const bySystem = new Map<string, Set<string>>();
  for (const [s, e] of events) {
    const set = bySystem.get(s) ?? new Set<string>();
    set.add(e);
    bySystem.set(s, set);
  }
  const out: string[] = [];
  for (const [s, set] of [...bySystem].sort(([a], [b]) => a.localeCompare(b))) {
    const all = [...available].filter((x) => x.startsWith(`${s}:`)).length;
    if (set.size === all) out.push(s);
    else out.push(...[...set].sort().map((e) => `${s}:${e}`));
  }
  return out;
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
