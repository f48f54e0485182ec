import { LkstError, errnoCode, refusedError } from '../base/errors.js';

/** Translates the errno of a failed tracefs access into words. */
export function tracefsAccessError(path: string, err: unknown, action: string): LkstError {
  const code = errnoCode(err);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return refusedError(action, path, code);
    case 'ENOENT':
      return new LkstError(`${path} does not exist`, 'this kernel lacks the feature; run `lkst status --features` to see what it has');
    case 'EBUSY':
      return new LkstError(`${path} is busy`, 'another reader holds it open; stop it and retry');
    case 'ENODEV':
      return new LkstError(`${path}: no such device`, 'the kernel was built without this tracing feature');
    default:
      return new LkstError(`cannot ${action} ${path} (${code ?? String(err)})`, 'check the kernel log (dmesg) and tracefs error_log');
  }
}
