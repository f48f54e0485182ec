import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectBpf } from '../../src/bpf/features.js';

/** Why the BPF handler tests skip here (no toolchain, root or BTF; tracepoint programs refused), or false. */
export function tracepointBpfSkip(): string | false {
  const bpf = detectBpf();
  if (bpf.unavailable) return `BPF handlers unavailable: ${bpf.unavailable.why}`;
  return bpf.kinds.tracepoint !== true ? `tracepoint programs do not load: ${bpf.kinds.tracepoint}` : false;
}

/** A config root of its own holding the given masksets (NAME.maskset), and the environment that points lkst at it. */
export function masksetSetup(masksets: Record<string, string>, tag = 'lkst-bpfm-'): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), tag));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  for (const [name, text] of Object.entries(masksets)) writeFileSync(join(dir, 'etc', 'masksets', `${name}.maskset`), text);
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') } };
}
