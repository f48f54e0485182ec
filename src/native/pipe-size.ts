/**
 * Grows the pipe behind a descriptor (fcntl F_SETPIPE_SZ, Linux 2.6.35+). A writer of hundreds of
 * megabytes into the default 64 KiB pipe waits for its reader every 64 KiB: `lkst report | cat` of
 * 6 M events spent 2.5 s where 1.55 s went to /dev/null; with a 1 MiB pipe, 1.7 s (docs/bench.md,
 * session 11). Node has no fcntl, so a small C helper inherits the descriptor and grows the pipe:
 * the size belongs to the pipe, not to the process.
 */
import { spawnSync } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { compiledHelper } from './compile.js';

// Never shrinks a pipe; halves the size asked while the kernel refuses it (pipe-max-size, the
// user's pipe-user-pages-soft budget). Exit 0: the pipe is at least that big now.
const SOURCE = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  long want = argc > 1 ? atol(argv[1]) : 1048576;
  int have = fcntl(1, F_GETPIPE_SZ);
  if (have < 0) return 2;
  for (long n = want; n > have; n /= 2)
    if (fcntl(1, F_SETPIPE_SZ, n) >= 0) return 0;
  return have >= want ? 0 : 1;
}
`;

/**
 * Grows the pipe fd writes into to `bytes` (1 MiB, the kernel's default pipe-max-size) when fd is a
 * pipe. Best effort: false when fd is not a pipe or it cannot be grown (no C compiler, a limit).
 */
export function growPipe(fd: number, bytes = 1 << 20): boolean {
  try {
    if (!fstatSync(fd).isFIFO()) return false;
    const helper = compiledHelper('lkst-pipe-size', SOURCE);
    return spawnSync(helper, [String(bytes)], { stdio: ['ignore', fd, 'ignore'] }).status === 0;
  } catch {
    // Only speed is at stake: the text goes through the pipe as it is.
    return false;
  }
}
