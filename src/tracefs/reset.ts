import { INSTANCE_PREFIX } from './instance.js';

/** The owning pid of a process-owned instance name (lkst-<pid>-<tag>), if it is one. */
export function ownerPid(name: string): number | undefined {
  const m = new RegExp(`^${INSTANCE_PREFIX}(\\d+)-`).exec(name);
  return m ? Number(m[1]) : undefined;
}
