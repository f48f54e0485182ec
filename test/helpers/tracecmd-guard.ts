/**
 * Debian's trace-cmd, confined to the tests' own instances: `trace-cmd extract -B` also truncates the
 * top-level buffer and writes the top level's events/enable, filters, tracing_on and kptr_restrict,
 * which another tracer on the machine may be using. An LD_PRELOAD library turns those writes into
 * nothing (write-only opens go to /dev/null; read-write ones get a copy of the file's content).
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeCacheDir } from '../../src/native/compile.js';

const SOURCE = String.raw`#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Tests run Debian's trace-cmd on instances of their own; what it would write outside them (the
   top-level buffer, events, filters, tracing_on, kptr_restrict) goes nowhere: a read-write open
   is made read-only, a write-only one goes to /dev/null. */
static int outside(const char *path) {
  static const char *roots[] = {"/sys/kernel/tracing/", "/sys/kernel/debug/tracing/"};
  if (!path) return 0;
  for (unsigned i = 0; i < 2; i++) {
    size_t n = strlen(roots[i]);
    if (!strncmp(path, roots[i], n)) return strncmp(path + n, "instances/", 10) != 0;
  }
  return !strcmp(path, "/proc/sys/kernel/kptr_restrict");
}
/* A read-write open gets a copy of the file's content: reads see the real value, writes go nowhere. */
static int copy_of(const char *path, int flags) {
  int fd = memfd_create("lkst-tracecmd-guard", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
  int src = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
  if (fd < 0 || src < 0) return fd;
  char buf[4096];
  ssize_t n = read(src, buf, sizeof buf);
  close(src);
  if (n > 0 && write(fd, buf, (size_t)n) < 0) return fd;
  lseek(fd, 0, SEEK_SET);
  return fd;
}
/* The path and flags to open instead (flags unchanged for everything else); *copy: open a copy. */
static const char *guard(const char *path, int *flags, int *copy) {
  *copy = 0;
  if (!outside(path) || ((*flags & O_ACCMODE) == O_RDONLY && !(*flags & O_TRUNC))) return path;
  int keep = *flags & O_CLOEXEC;
  if ((*flags & O_ACCMODE) == O_RDWR) { *copy = 1; return path; }
  *flags = O_WRONLY | keep;
  return "/dev/null";
}
static mode_t mode_of(int flags, va_list ap) { return (flags & O_CREAT) ? va_arg(ap, mode_t) : 0; }
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);
#define REAL(name, type) static type real; if (!real) real = (type)dlsym(RTLD_NEXT, name)
/* Each libc entry point that opens a file: the same guard in front of the real one. */
#define GUARD_OPEN(name) \
  int name(const char *path, int flags, ...) { \
    REAL(#name, open_fn); \
    va_list ap; va_start(ap, flags); mode_t m = mode_of(flags, ap); va_end(ap); \
    int copy; path = guard(path, &flags, &copy); \
    return copy ? copy_of(path, flags) : real(path, flags, m); \
  }
#define GUARD_OPENAT(name) \
  int name(int dir, const char *path, int flags, ...) { \
    REAL(#name, openat_fn); \
    va_list ap; va_start(ap, flags); mode_t m = mode_of(flags, ap); va_end(ap); \
    int copy; path = guard(path, &flags, &copy); \
    return copy ? copy_of(path, flags) : real(dir, path, flags, m); \
  }
/* Fortified opens (_FORTIFY_SOURCE builds, libtracefs among them) call the __open*_2 ones. */
typedef int (*open2_fn)(const char *, int);
#define GUARD_OPEN2(name) \
  int name(const char *path, int flags) { \
    REAL(#name, open2_fn); \
    int copy; path = guard(path, &flags, &copy); \
    return copy ? copy_of(path, flags) : real(path, flags); \
  }
GUARD_OPEN(open)
GUARD_OPEN(open64)
GUARD_OPENAT(openat)
GUARD_OPENAT(openat64)
GUARD_OPEN2(__open_2)
GUARD_OPEN2(__open64_2)
static int fflags(const char *mode) {
  if (mode[0] == 'r') return strchr(mode, '+') ? O_RDWR : O_RDONLY;
  return (strchr(mode, '+') ? O_RDWR : O_WRONLY) | O_TRUNC;
}
#define GUARD_FOPEN(name) \
  FILE *name(const char *path, const char *mode) { \
    REAL(#name, fopen_fn); \
    int f = fflags(mode), copy; \
    const char *p = guard(path, &f, &copy); \
    if (copy) return fdopen(copy_of(path, f), mode); \
    if (p == path && f == fflags(mode)) return real(path, mode); \
    return real(p, (f & O_ACCMODE) == O_RDONLY ? "r" : "w"); \
  }
GUARD_FOPEN(fopen)
GUARD_FOPEN(fopen64)
`;

let built: string | undefined;

/** The guard library, built with cc on first use (cached by source hash). */
export function tracecmdGuard(): string {
  if (built) return built;
  const dir = join(nativeCacheDir(), 'lib');
  const so = join(dir, `lkst-tracecmd-guard-${createHash('sha256').update(SOURCE).digest('hex').slice(0, 12)}.so`);
  if (!existsSync(so)) {
    mkdirSync(dir, { recursive: true });
    const c = `${so}.${process.pid}.c`;
    writeFileSync(c, SOURCE);
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', `${so}.${process.pid}`, c, '-ldl']);
    renameSync(`${so}.${process.pid}`, so);
  }
  return (built = so);
}

/** Runs trace-cmd with the guard. */
export function tracecmd(args: string[], encoding: BufferEncoding = 'utf8'): SpawnSyncReturns<string> {
  return spawnSync('trace-cmd', args, { encoding, maxBuffer: 1 << 30, env: { ...process.env, LD_PRELOAD: tracecmdGuard() } });
}
