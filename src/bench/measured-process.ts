import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { LkstError } from '../base/errors.js';
import { nativeHelper } from './native.js';

export interface MeasuredExit {
  /** CPU time (user + system) of the process and every child it waited for, in microseconds. */
  cpuUs: number;
  userUs: number;
  sysUs: number;
  exitCode: number;
  wallMs: number;
  stdout: string;
  stderr: string;
}

/** A command running under rusage-run, whose whole process tree's CPU time is known when it exits. */
export interface MeasuredProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Asks the command to stop (SIGINT by default, forwarded to it by the wrapper); SIGKILL kills its whole process group. */
  stop(signal?: NodeJS.Signals): void;
  readonly exited: Promise<MeasuredExit>;
}

const MAX_OUTPUT = 1 << 20;

export function spawnMeasured(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'ignore' | 'inherit' } = {}): MeasuredProcess {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-rusage-'));
  const out = join(dir, 'rusage');
  const started = Date.now();
  const child = spawn(nativeHelper('rusage-run'), [out, cmd, ...args], {
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    // Its own process group: a terminal's Ctrl-C reaches us only, and SIGKILL can take the whole tree.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    if (stdout.length < MAX_OUTPUT) stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < MAX_OUTPUT) stderr += d;
  });
  const exited = new Promise<MeasuredExit>((resolve, reject) => {
    child.on('error', (err) => {
      rmSync(dir, { recursive: true, force: true });
      reject(new LkstError(`cannot run ${cmd} (${err.message})`, 'check that it is installed'));
    });
    child.on('close', (code, sig) => {
      let text = '';
      try {
        text = readFileSync(out, 'utf8');
      } catch {
        /* the wrapper itself was killed */
      }
      rmSync(dir, { recursive: true, force: true });
      const [u, s, c] = text.trim().split(/\s+/).map(Number);
      const userUs = u ?? 0;
      const sysUs = s ?? 0;
      const exitCode = c ?? code ?? (sig ? 128 : 1);
      resolve({ cpuUs: userUs + sysUs, userUs, sysUs, exitCode, wallMs: Date.now() - started, stdout, stderr });
    });
  });
  return {
    pid: child.pid ?? -1,
    child,
    stop: (signal: NodeJS.Signals = 'SIGINT') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (signal === 'SIGKILL' && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
          return;
        } catch {
          /* fall back to the wrapper alone */
        }
      }
      child.kill(signal);
    },
    exited,
  };
}
