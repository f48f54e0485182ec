import { Instance } from '../../src/tracefs/instance.js';

let seq = 0;

/** Runs fn with a fresh, uniquely named instance that is removed afterwards, even when fn fails. */
export async function withInstance<T>(tag: string, fn: (inst: Instance) => T | Promise<T>): Promise<T> {
  const inst = Instance.createOwned(`test-${tag}-${++seq}`);
  try {
    return await fn(inst);
  } finally {
    inst.remove();
  }
}
