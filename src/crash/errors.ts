// Dump-reading errors, one line each: what is wrong with the input, and what to do about it.
import { LkstError } from '../base/errors.js';

export { LkstError };

export function dumpError(what: string, fix: string): LkstError {
  return new LkstError(what, fix);
}

/** A piece of kernel memory the dump does not hold (filtered, truncated, or never mapped). */
export class MissingMemoryError extends LkstError {
  constructor(readonly address: bigint, readonly why: string) {
    super(`memory at 0x${address.toString(16)} is not in the dump (${why})`,
      why === 'truncated' ? 'the dump file is cut short: recover from a complete copy'
        : why === 'corrupt page data' ? 'the dump is damaged at this page: recover from an intact copy of the dump'
        : why === 'filtered' ? 'take the dump keeping kernel pages (makedumpfile -d 1 or -d 31 keep them; do not exclude them)'
          : 'the dump does not cover this memory; take a full dump');
    this.name = 'MissingMemoryError';
  }
}
