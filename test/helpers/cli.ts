import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cliPath } from '../../src/base/project-root.js';

/** The CLI users run (the bundle, dist/lkst/main.cjs). */
export const CLI = cliPath();

/** Runs the lkst CLI to completion. */
export function lkst(args: string[], opts: { uid?: number; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv; maxBuffer?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', uid: opts.uid, gid: opts.uid, timeout: opts.timeoutMs ?? 60_000, cwd: opts.cwd, env: opts.env, maxBuffer: opts.maxBuffer });
}

/** Starts the lkst CLI and returns the child, for tests that signal it. */
export function lkstStart(args: string[]) {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A bad-input failure: non-zero exit, one line on stderr starting with "lkst:", no stack trace. */
export function isOneLineError(r: { status: number | null; stderr: string }): boolean {
  const lines = r.stderr.trim().split('\n');
  return r.status !== 0 && r.status !== null && lines.length === 1 && lines[0]!.startsWith('lkst: ') && !/\n\s+at /.test(r.stderr);
}
