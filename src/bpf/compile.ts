/**
 * Compiles a BPF C source against the running kernel: vmlinux.h written by bpftool from the
 * kernel's BTF (cached per kernel release and BTF file, so a new kernel gets a new header), clang -target bpf
 * with -g (BTF and line info: CO-RE relocations and the verifier's source lines need them).
 * A compiler error is one line: file:line: the message.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { nativeCacheDir } from '../native/compile.js';
import { findToolchain, KERNEL_BTF, problemsText, type BpfToolchain } from './toolchain.js';

/** The toolchain, or a one-line error naming what is missing and the packages to install. */
export function requireToolchain(): BpfToolchain {
  const t = findToolchain();
  if ('problems' in t) {
    const p = problemsText(t.problems);
    throw new LkstError(`BPF handlers cannot be built here: ${p.why}`, p.fix);
  }
  return t;
}

/**
 * The cache directory of the running kernel's BTF: named by the kernel release and the BTF file's
 * size and time (a stat, not a hash of its megabytes), so a new kernel gets a new one.
 */
export function btfCacheDir(cacheRoot = join(nativeCacheDir(), 'bpf')): string {
  const st = statSync(KERNEL_BTF);
  return join(cacheRoot, `btf-${createHash('sha256').update(`${release()} ${st.size} ${st.mtimeMs}`).digest('hex').slice(0, 16)}`);
}

/** The directory holding vmlinux.h of the running kernel (written once per kernel BTF). */
export function vmlinuxHeaderDir(tools: BpfToolchain, cacheRoot?: string): string {
  const dir = btfCacheDir(cacheRoot);
  const header = join(dir, 'vmlinux.h');
  if (existsSync(header)) return dir;
  mkdirSync(dir, { recursive: true });
  let text: string;
  try {
    text = execFileSync(tools.bpftool, ['btf', 'dump', 'file', KERNEL_BTF, 'format', 'c'], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new LkstError(`bpftool could not write vmlinux.h: ${String((err as { stderr?: string }).stderr ?? err).trim().split('\n')[0]}`, 'check that bpftool reads /sys/kernel/btf/vmlinux as root');
  }
  // Written beside and renamed: two compilers at once never read half a header.
  const tmp = `${header}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, header);
  return dir;
}

/** clang's first error as "file:line: message" (its notes and the rest dropped). */
export function clangError(stderr: string, source: string): string {
  const m = /^(.*?):(\d+):(\d+): (?:fatal )?error: (.*)$/m.exec(stderr);
  if (!m) return `${basename(source)}: ${stderr.trim().split('\n')[0] || 'clang failed'}`;
  return `${basename(m[1]!)}:${m[2]}: ${m[4]}`;
}

/**
 * Compiles source (a .bpf.c file) into object (a .o file). includeDirs: more header directories
 * (lkst's own handler header). Throws a one-line LkstError on a compile error.
 */
export function compileBpf(source: string, object: string, includeDirs: readonly string[] = [], tools: BpfToolchain = requireToolchain()): void {
  const vmlinux = vmlinuxHeaderDir(tools);
  const args = ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-Wall', '-Wno-unused-function', '-I', vmlinux, ...includeDirs.flatMap((d) => ['-I', d]), '-I', dirname(source), '-c', source, '-o', object];
  try {
    execFileSync(tools.clang, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    throw new LkstError(`${clangError(stderr, source)} (clang could not compile the handler)`, 'fix the source and add it again');
  }
}
