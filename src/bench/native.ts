import { join } from 'node:path';
import { compiledHelper } from '../native/compile.js';
import { benchCacheDir } from './paths.js';

/**
 * Tiny C helpers the benchmarks need and Node cannot do: the resource usage of a whole process tree
 * (wait4 includes the children a recorder waited for), and a syscall loop with no runtime around it.
 */
const SOURCES = {
  'rusage-run': `
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
static pid_t child;
static void forward(int sig) { if (child > 0) kill(child, sig); }
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: rusage-run OUTFILE CMD [ARGS...]\\n"); return 2; }
  child = fork();
  if (child < 0) { perror("fork"); return 2; }
  if (child == 0) { execvp(argv[2], argv + 2); perror(argv[2]); _exit(127); }
  signal(SIGINT, forward);
  signal(SIGTERM, forward);
  int status = 0;
  struct rusage ru;
  while (wait4(child, &status, 0, &ru) < 0) {}
  FILE *f = fopen(argv[1], "w");
  if (!f) { perror(argv[1]); return 2; }
  long long ut = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
  long long st = (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  fprintf(f, "%lld %lld %d\\n", ut, st, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
`,
  'syscall-loop': `
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%lld\\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
  return 0;
}
`,
} as const;

export type NativeHelper = keyof typeof SOURCES;

/** Path of a compiled helper, compiling it with cc on first use (cached by source hash). */
export function nativeHelper(name: NativeHelper): string {
  return compiledHelper(name, SOURCES[name], join(benchCacheDir(), 'bin'));
}
