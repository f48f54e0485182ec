import { Instance, INSTANCE_PREFIX } from './instance.js';
import { tracefs } from './tracefs.js';
import { removeStalePageFiles } from '../base/page-files.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owning pid of a process-owned instance name (lkst-<pid>-<tag>), if it is one. */
export function ownerPid(name: string): number | undefined {
  const m = new RegExp(`^${INSTANCE_PREFIX}(\\d+)-`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Removes lkst instances whose owner process is gone; with all, every lkst instance.
 * Persistent instances (armed traces, named buffers) are kept unless all is given.
 * The page files of killed recorders go too (never a running one's, even with all).
 */
export function resetInstances(opts: { all?: boolean } = {}): { removed: string[]; kept: string[] } {
  const removed: string[] = [];
  const kept: string[] = [];
  for (const name of Instance.listNames()) {
    const pid = ownerPid(name);
    const stale = pid !== undefined && pid !== process.pid && !pidAlive(pid);
    if (!opts.all && !stale) {
      kept.push(name);
      continue;
    }
    const inst = new Instance(name, tracefs().path(`instances/${name}`));
    inst.remove();
    removed.push(name);
  }
  removed.push(...removeStalePageFiles(pidAlive));
  return { removed, kept };
}
