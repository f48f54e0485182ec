// Test rig: a real Debian kernel crashed under QEMU, its dumps in a temp dir (removed by cleanup()).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crashGuest, type GuestOptions, type GuestResult } from '../../scripts/crash/crash-guest.js';

const scripts = fileURLToPath(new URL('../../../scripts/crash/', import.meta.url));

export interface CrashedGuest extends GuestResult {
  nonce: string;
  dir: string;
  kernelDir: string;
  cleanup(): void;
}

/** The unpacked kernel, or why it cannot be had (the only reason these tests may skip). */
export function fetchKernel(series: '6.1' | '6.12'): { dir: string } | { skip: string } {
  try {
    return { dir: execFileSync('sh', [join(scripts, 'fetch-kernel.sh'), series], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() };
  } catch (e) {
    const err = e as { status?: number; stderr?: string };
    if (err.status === 3) return { skip: `Debian kernel ${series} cannot be downloaded: ${String(err.stderr).trim()}` };
    throw e;
  }
}

export async function crashedGuest(kernelDir: string, opts: Partial<GuestOptions> = {}, extraModule?: string): Promise<CrashedGuest> {
  const dir = mkdtempSync(join(tmpdir(), 'lkstcrash-'));
  const nonce = randomBytes(8).toString('hex');
  let raw: string | undefined;
  const cleanup = () => {
    rmSync(dir, { recursive: true, force: true });
    if (raw) rmSync(raw, { force: true });
  };
  try {
    const initramfs = join(dir, 'initramfs.gz');
    execFileSync('sh', [join(scripts, 'make-initramfs.sh'), kernelDir, initramfs, ...(extraModule ? [extraModule] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    const r = await crashGuest({ kernelDir, initramfs, outDir: dir, nonce, formats: ['elf'], ...opts });
    raw = r.dumps.raw;
    if (!r.panicked) throw new Error(`the guest did not panic; serial console:\n${r.serial.slice(-3000)}`);
    return { ...r, nonce, dir, kernelDir, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
