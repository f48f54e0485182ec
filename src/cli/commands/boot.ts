// `lkst boot enable|disable|start`: a trace buffer that survives a crash and reboot (Linux 6.12+),
// read after the reboot with `lkst recover --last-boot`.
import type { Command } from 'commander';
import { startBootTracing } from '../../crash/last-boot.js';
import { bootParams, installGrubDropIn, removeGrubDropIn } from '../../crash/last-boot-params.js';

export function registerBoot(program: Command): void {
  const boot = program.command('boot').description('a boot-persistent trace buffer: kept across a crash and reboot, read with lkst recover --last-boot (Linux 6.12+)');
  boot
    .command('enable')
    .description('print the kernel parameters of a boot-persistent buffer recording a maskset (or install them for GRUB)')
    .option('-m, --maskset <name>', 'maskset whose events the buffer records', 'default')
    .option('--size <MiB>', 'memory reserved for the buffer, all CPUs together', (v) => Number(v), 16)
    .option('--install', 'write them to the GRUB drop-in /etc/default/grub.d/lkst.cfg (then run update-grub)')
    .action(async (o: { maskset: string; size: number; install?: boolean }) => {
      const p = await bootParams(o.maskset, o.size);
      const lines = o.install ? [`wrote ${installGrubDropIn(p)}; run update-grub and reboot`] : [p.words.join(' ')];
      lines.push(
        `after each boot, start it: lkst boot start; after a crash and reboot: lkst recover --last-boot`,
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
    .action((o: { instance?: string; discard?: boolean }) => {
      const r = startBootTracing(o);
      console.log(`tracing in ${r.instance}${r.discarded ? ` (${r.discarded} events of the previous boot discarded)` : ''}`);
    });
}
