import { rmdirSync } from 'node:fs';

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

export function removeAllOwned(): void {
  for (const inst of owned) {
    try {
      inst.write('tracing_on', '0');
    } catch {
      /* still try to remove */
    }
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(inst.dir);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EBUSY') break;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  }
  owned.clear();
}
