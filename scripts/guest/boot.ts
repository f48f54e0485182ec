// What the QEMU guests of the tests share about booting a Debian kernel: where its image is, and
// whether it died while booting (then the harnesses boot it once more).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** boot/vmlinuz-* of a Debian kernel .deb, or usr/lib/modules/VERSION/vmlinuz of a usr-merged one (Debian 13's). */
export function vmlinuz(kernelDir: string): string {
  const boot = join(kernelDir, 'boot');
  const f = existsSync(boot) ? readdirSync(boot).find((n) => n.startsWith('vmlinuz-')) : undefined;
  if (f) return join(boot, f);
  const mods = join(kernelDir, 'usr', 'lib', 'modules');
  const v = existsSync(mods) ? readdirSync(mods).find((n) => existsSync(join(mods, n, 'vmlinuz'))) : undefined;
  if (!v) throw new Error(`no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in ${kernelDir}`);
  return join(mods, v, 'vmlinuz');
}

/**
 * How the guest's kernel died before init printed initMarker on the console: its oops or panic
 * line, "before init ran" when it panicked without one; undefined when it did not die booting.
 * Debian's kernels under TCG now and then oops while booting (seen in run_timer_softirq, as an int3
 * in the idle task or in sched_clock_cpu: code being patched).
 */
export function diedWhileBooting(serial: string, initMarker: string, panicked = false): string | undefined {
  if (serial.includes(initMarker)) return undefined;
  return /(Kernel panic.*|Oops.*)/.exec(serial)?.[1]?.trim() ?? (panicked ? 'before init ran' : undefined);
}
