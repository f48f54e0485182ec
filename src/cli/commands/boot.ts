// `lkst boot enable|disable|start`: a trace buffer that survives a crash and reboot (Linux 6.12+),
// read after the reboot with `lkst recover --last-boot`.
import type { Command } from 'commander';
import { LkstError } from '../../base/errors.js';
import { startBootTracing } from '../../crash/last-boot.js';
import { bootParams, installGrubDropIn, removeGrubDropIn } from '../../crash/last-boot-params.js';

export function registerBoot(program: Command): void {
  const boot = program.command('boot').description('a boot-persistent trace buffer: kept across a crash and reboot, read with lkst recover --last-boot (Linux 6.12+)');
  boot
    .command('enable')
    .description('print the kernel parameters of a boot-persistent buffer recording a maskset (or install them for GRUB)')
    .option('-m, --maskset <name>', 'maskset whose events the buffer records', 'default')
    .option('--size <MiB>', 'memory reserved for the buffer, all CPUs together', (v) => Number(v), 16)
    .option('--at <ADDR>', 'x86: a fixed physical address for the buffer (memmap=), which KASLR never moves the kernel onto; e.g. 0x40000000 or 1G')
    .option('--install', 'write them to the GRUB drop-in /etc/default/grub.d/lkst.cfg (then run update-grub)')
    .action(async (o: { maskset: string; size: number; at?: string; install?: boolean }) => {
      const p = await bootParams(o.maskset, o.size, o.at === undefined ? undefined : physicalAddress(o.at));
      const lines = o.install ? [`wrote ${installGrubDropIn(p)}; run update-grub and reboot`] : [p.words.join(' ')];
      lines.push(
        `after each boot, start it: lkst boot start -m ${p.maskset} (it enables the maskset's ${p.events.length} events, filters and triggers; the kernel boots with tracing off there); after a crash and reboot: lkst recover --last-boot first`,
        ...p.notes.map((n) => `note: ${n}`),
      );
      console.log(lines.join('\n'));
    });
  boot
    .command('disable')
    .description('remove the GRUB drop-in lkst boot enable --install wrote')
    .action(() => {
      const f = removeGrubDropIn();
      console.log(f ? `removed ${f}; run update-grub` : 'no lkst GRUB drop-in to remove');
    });
  boot
    .command('start')
    .description('start tracing in the boot-persistent buffer for this boot')
    .option('--instance <name>', 'the boot-persistent instance (default: lkst_boot, or the only one)')
    .option('--discard', "drop events of the previous boot still in it")
    .option('-m, --maskset <name>', "enable this maskset's events (filters, triggers) in it first; without -m the events enabled there stay")
    .action(async (o: { instance?: string; discard?: boolean; maskset?: string }) => {
      const r = await startBootTracing(o);
      console.log(`tracing in ${r.instance}: ${r.events} events enabled${o.maskset ? ` (maskset ${o.maskset})` : ''}${r.discarded ? `; ${r.discarded} events of the previous boot discarded` : ''}`);
    });
}

/** The kernel's memparse forms: decimal or 0x hex, with an optional K, M or G. */
function physicalAddress(text: string): bigint {
  const m = /^(0x[0-9a-f]+|\d+)([kmg]?)$/i.exec(text.trim());
  if (!m) throw new LkstError(`--at ${text} is not an address`, 'give it as 0x40000000, 1073741824 or 1G');
  const shift = { '': 0n, k: 10n, m: 20n, g: 30n }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return BigInt(m[1]!) << shift;
}
