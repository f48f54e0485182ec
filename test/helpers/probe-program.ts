import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/**
 * A scratch directory with a private lkst config (its own masksets) and state (no other test's armed
 * or announced trace), and a C test program built in it.
 */
export interface ProbeProgram {
  dir: string;
  config: string;
  env: NodeJS.ProcessEnv;
  bin: string;
}

/** Builds `source` with cc -O1 (uprobes need real functions) in a fresh directory, removed after the suite. */
export function probeProgram(prefix: string, source: string): ProbeProgram {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config');
  mkdirSync(join(config, 'masksets'), { recursive: true });
  const src = join(dir, 'prog.c');
  writeFileSync(src, source);
  const bin = join(dir, 'prog');
  execFileSync('cc', ['-O1', '-o', bin, src]);
  return { dir, config, env: { ...process.env, LKST_CONFIG_DIR: config, LKST_STATE_DIR: join(dir, 'state') }, bin };
}
