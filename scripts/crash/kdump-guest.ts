// Boots a Debian kernel under QEMU (TCG) with memory reserved for a crash kernel (crashkernel=).
// The guest (make-kdump-initramfs.sh) loads the crash kernel with kexec -p, traces and crashes;
// the crash kernel copies /proc/vmcore to a virtio disk and powers off. The disk, cut to the
// vmcore's size, is the dump kdump made. Runnable by hand:
//   node dist/scripts/crash/kdump-guest.js KERNEL_DIR INITRAMFS OUTDIR
import { spawn } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GuestOptions, guestAppend, parseGuestStats, type BufferStats } from './crash-guest.js';
import { vmlinuz } from '../guest/boot.js';

export interface KdumpOptions extends Pick<GuestOptions, 'kernelDir' | 'initramfs' | 'outDir' | 'nonce' | 'kaslr' | 'timeoutMs'> {
  /** Guest RAM (MiB), crash kernel's reservation included. */
  memMiB?: number;
  /** crashkernel= size (MiB). */
  crashMiB?: number;
}

export interface KdumpResult {
  serial: string;
  /** The vmcore the crash kernel wrote, or undefined with the reason in serial. */
  vmcore?: string;
  stats: Map<string, Map<number, BufferStats>>;
}

export async function kdumpGuest(o: KdumpOptions): Promise<KdumpResult> {
  const mem = o.memMiB ?? 384;
  const serialPath = join(o.outDir, 'serial.log');
  const disk = join(o.outDir, 'vmcore');
  // Sparse, as big as the whole RAM: the vmcore is smaller (the reservation is not in it).
  const fd = openSync(disk, 'w');
  ftruncateSync(fd, mem << 20);
  closeSync(fd);
  const append = `${guestAppend(o)} crashkernel=${o.crashMiB ?? 128}M`;
  const args = [
    '-accel', 'tcg', '-m', `${mem}M`, '-smp', '2', '-cpu', 'qemu64',
    '-kernel', vmlinuz(o.kernelDir), '-initrd', o.initramfs, '-append', append,
    '-drive', `file=${disk},format=raw,if=virtio,cache=unsafe`,
    '-display', 'none', '-monitor', 'none', '-no-reboot', '-nodefaults', '-serial', `file:${serialPath}`,
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 300_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  const serial = existsSync(serialPath) ? readFileSync(serialPath, 'latin1') : '';
  if (code !== 0) throw new Error(`qemu exited with ${code}: ${stderr.trim()}; serial console:\n${serial.slice(-3000)}`);
  const size = /LKST-VMCORE-SIZE (\d+)/.exec(serial);
  const saved = size && serial.includes('LKST-VMCORE-SAVED');
  if (saved) {
    const f = openSync(disk, 'r+');
    ftruncateSync(f, Number(size[1]));
    closeSync(f);
  }
  return { serial, vmcore: saved ? disk : undefined, stats: parseGuestStats(serial) };
}

if (process.argv[1]?.endsWith('kdump-guest.js') && process.argv.length >= 5) {
  const [kernelDir, initramfs, outDir] = process.argv.slice(2);
  kdumpGuest({ kernelDir, initramfs, outDir, nonce: 'manual' }).then((r) => {
    console.log(JSON.stringify({ vmcore: r.vmcore, stats: [...r.stats].map(([b, m]) => [b, [...m]]) }));
  }, (e) => { console.error(String(e)); process.exit(1); });
}
