import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';

/** Where compiled helpers are kept between runs (LKST_CACHE_DIR overrides). */
export function nativeCacheDir(): string {
  return process.env.LKST_CACHE_DIR || join('/var/tmp', 'lkst');
}

/**
 * Names a helper's build by its source: two 32-bit FNV-1a hashes (different offsets), 64 bits. Not
 * node:crypto: loading it cost ~20 ms of CPU at every recording's start-up.
 */
function sourceHash(source: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/**
 * Path of a small C helper, compiled with the system's cc on first use and cached by source hash.
 * Throws LkstError (naming the compiler problem) when it cannot be built.
 */
export function compiledHelper(name: string, source: string, dir = join(nativeCacheDir(), 'bin'), link: { libs?: string[]; fix?: string } = {}): string {
  const libs = link.libs ?? [];
  const hash = sourceHash(source + libs.join(' '));
  const bin = join(dir, `${name}-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  // Per-process names: two recorders starting at once must not compile each other's half-written files.
  const cFile = `${bin}.${process.pid}.c`;
  const tmp = `${bin}.${process.pid}.tmp`;
  writeFileSync(cFile, source);
  let why = 'no C compiler (cc, gcc)';
  try {
    for (const compiler of ['cc', 'gcc', 'gcc-12']) {
      try {
        execFileSync(compiler, ['-O2', '-o', tmp, cFile, ...libs], { stdio: ['ignore', 'ignore', 'pipe'] });
        renameSync(tmp, bin);
        return bin;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') why = String((err as { stderr?: Buffer }).stderr ?? err).split('\n')[0] ?? why;
      }
    }
  } finally {
    rmSync(cFile, { force: true });
  }
  throw new LkstError(`cannot build the helper ${name}: ${why}`, link.fix ?? 'install a C compiler (apt-get install gcc)');
}
