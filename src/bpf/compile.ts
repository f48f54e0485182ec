/**
 * Compiles a BPF C source against the running kernel: vmlinux.h written by bpftool from the
 * kernel's BTF (cached by the BTF's hash, so a new kernel gets a new header), clang -target bpf
 * with -g (BTF and line info: CO-RE relocations and the verifier's source lines need them).
 * A compiler error is one line: file:line: the message.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

/** The directory holding vmlinux.h of the running kernel (written once per kernel BTF). */
export function vmlinuxHeaderDir(tools: BpfToolchain, cacheRoot = join(nativeCacheDir(), 'bpf')): string {
  const btf = readFileSync(KERNEL_BTF);
  const dir = join(cacheRoot, `btf-${createHash('sha256').update(btf).digest('hex').slice(0, 16)}`);
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
export function compileBpf(source: string, object: string, includeDirs: readonly string[] = []): void {
  const tools = requireToolchain();
  const vmlinux = vmlinuxHeaderDir(tools);
  const args = ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-Wall', '-Wno-unused-function', '-I', vmlinux, ...includeDirs.flatMap((d) => ['-I', d]), '-I', dirname(source), '-c', source, '-o', object];
  try {
    execFileSync(tools.clang, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    throw new LkstError(`${clangError(stderr, source)} (clang could not compile the handler)`, 'fix the source and add it again');
  }
}
