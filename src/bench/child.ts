import { spawn, type SpawnOptions } from 'node:child_process';
import { LkstError } from '../base/errors.js';

export interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

const MAX_OUTPUT = 4 << 20;

/**
 * Runs a command to its end, collecting its output (bounded); the signal kills it (SIGTERM to its
 * process group, so make's compilers die with it).
 */
export function runChild(cmd: string, args: string[], opts: SpawnOptions & { signal?: AbortSignal; what?: string } = {}): Promise<ChildResult> {
  const { signal, what, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new LkstError('interrupted', 'the kernel was left clean; run again to measure', 130));
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...spawnOpts });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    const onAbort = () => killGroup(child.pid);
    signal?.addEventListener('abort', onAbort);
    child.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new LkstError(`cannot run ${what ?? cmd} (${(err as NodeJS.ErrnoException).code ?? err.message})`, `install ${cmd} or check PATH`));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new LkstError('interrupted', 'the kernel was left clean; run again to measure', 130));
      resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
    });
  });
}

export function killGroup(pid: number | undefined, sig: NodeJS.Signals = 'SIGTERM'): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

export function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
