import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { LkstError } from '../base/errors.js';

const DEFAULT_MOUNT = '/sys/kernel/tracing';

/** Where tracefs is mounted now, from /proc/mounts, or undefined. */
export function findTracefsMount(): string | undefined {
  let mounts = '';
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of mounts.split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'tracefs' && dir) return dir.replace(/\\040/g, ' ');
  }
  return undefined;
}

/** Finds tracefs, mounting it at /sys/kernel/tracing when it is not mounted yet. */
export function ensureTracefs(): string {
  const found = findTracefsMount();
  if (found) return found;
  if (!existsSync(DEFAULT_MOUNT)) {
    throw new LkstError('this kernel has no tracefs (no /sys/kernel/tracing)', 'use a kernel built with CONFIG_FTRACE and CONFIG_EVENT_TRACING');
  }
  if (process.getuid && process.getuid() !== 0) {
    throw new LkstError('tracefs is not mounted and mounting it needs root', 'run lkst as root (sudo)');
  }
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', DEFAULT_MOUNT], { stdio: 'pipe' });
  } catch (err) {
    const msg = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
    throw new LkstError(`cannot mount tracefs at ${DEFAULT_MOUNT} (${msg})`, 'check that the kernel has CONFIG_TRACING and that you are root');
  }
  return DEFAULT_MOUNT;
}
