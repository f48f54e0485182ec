import { rmdirSync } from 'node:fs';
import { sleepSync } from '../base/sleep-sync.js';

interface Removable {
  readonly dir: string;
  write(rel: string, value: string): void;
}

const owned = new Set<Removable>();
let hooked = false;

/**
 * Instances this process made are removed when it exits, whatever the way out (normal end, error,
 * or a signal handler that calls process.exit). A SIGKILL leaves them for `lkst reset`.
 */
export function removeOnExit(inst: Removable): void {
  owned.add(inst);
  if (hooked) return;
  hooked = true;
  process.on('exit', removeAllOwned);
}

export function forgetOnExit(inst: Removable): void {
  owned.delete(inst);
}

/**
 * Stops recording in an instance directory and removes it with its buffers, retrying while a
 * reader that is closing still holds it busy. A directory already gone counts as removed.
 */
export function removeInstanceDir(inst: Removable): void {
  try {
    inst.write('tracing_on', '0');
  } catch {
    /* removal below is what matters */
  }
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(inst.dir);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw err;
      sleepSync(20);
    }
  }
}

export function removeAllOwned(): void {
  for (const inst of owned) {
    try {
      removeInstanceDir(inst);
    } catch {
      /* exiting: `lkst reset` removes what could not be */
    }
  }
  owned.clear();
}
