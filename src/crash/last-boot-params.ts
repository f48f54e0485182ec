// The kernel command line of a boot-persistent trace buffer (Linux 6.12+, kernel-parameters.txt
// reserve_mem= and trace_instance=): memory set aside at boot, an instance mapped on it with the
// maskset's events, tracing off until `lkst boot start` so a reboot never mixes two boots' events.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
  /** What the command line cannot carry (filters, triggers) or this kernel lacks. */
  notes: string[];
}

export async function bootParams(maskset = 'default', sizeMb = 16): Promise<BootParams> {
  if (!Number.isInteger(sizeMb) || sizeMb < 1 || sizeMb > 4096) throw new LkstError(`--size ${sizeMb} is not a whole number of MiB from 1 to 4096`, 'give the buffer size in MiB, e.g. --size 16');
  const env = await loadMasksetEnv();
  const plan = compileMaskset(env.store.load(maskset), env);
  const notes: string[] = [];
  const enabled = [...plan.tracepoints.values()].filter((tp) => tp.enabled);
  const shaped = enabled.filter((tp) => tp.filter || tp.triggers.length).map((tp) => tp.id);
  if (shaped.length) notes.push(`the kernel command line takes event names only: ${shaped.join(', ')} record unfiltered and without triggers at boot`);
  if (plan.missing.length) notes.push(`this kernel lacks ${plan.missing.length} event(s) of the maskset; they are left out`);
  const events = compactEvents(enabled.map((tp) => [tp.system, tp.event]), availableEvents());
  if (!events.length) throw new LkstError(`maskset ${maskset} records no event`, 'choose a maskset that records events (-m)');
  const words = [`reserve_mem=${sizeMb}M:4096:${BOOT_INSTANCE}`, `trace_instance=${BOOT_INSTANCE}^traceoff@${BOOT_INSTANCE},${events.join(',')}`];
  const bytes = words.join(' ').length;
  if (bytes > MAX_PARAM_BYTES) throw new LkstError(`maskset ${maskset} takes ${bytes} bytes of the kernel command line (at most ${MAX_PARAM_BYTES} of its 2048)`, 'choose a maskset with fewer events (-m), e.g. one LKST category');
  return { words, maskset, sizeMb, events, notes };
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
    `GRUB_CMDLINE_LINUX_DEFAULT="\${GRUB_CMDLINE_LINUX_DEFAULT} ${p.words.join(' ')}"`,
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
