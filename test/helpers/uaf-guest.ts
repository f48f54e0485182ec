// The timer-after-free module built for the Debian 6.12 guest, and one guest run with it in the
// exchange directory: what the seed's-case tests in the guest share.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findGuestKernel, runInGuest } from '../../scripts/guest/guest.js';

export const UAF_MODULE = 'lkst_uaf';
const scripts = fileURLToPath(new URL('../../../scripts/crash/', import.meta.url));

/**
 * Builds lkst_uaf.ko into dir and runs script in a guest sharing dir (1 GiB); returns a reader of
 * dir's files, or undefined when the test was skipped (the guest kernel's headers cannot be downloaded).
 */
export async function runUafGuest(t: TestContext, dir: string, script: string, opts: { oneTcgThread?: boolean } = {}): Promise<((file: string) => string) | undefined> {
  const built = spawnSync('sh', [join(scripts, 'build-uaf-module.sh'), findGuestKernel()!, join(dir, `${UAF_MODULE}.ko`)], { encoding: 'utf8' });
  if (built.status === 3) {
    t.skip(`the guest kernel's headers cannot be downloaded: ${built.stderr.trim()}`);
    return undefined;
  }
  assert.equal(built.status, 0, built.stderr);
  const r = await runInGuest({ script, shared: dir, memMiB: 1024, timeoutMs: 1_500_000, ...opts });
  assert.equal(r.code, 0, `${r.stderr}\n${r.serial.slice(-2000)}`);
  return (file) => readFileSync(join(dir, file), 'utf8');
}
