/**
 * What building and loading BPF handlers needs on this machine, found by trying: clang with the BPF
 * target, bpftool (to write vmlinux.h from the kernel's BTF), libbpf's headers and library (for
 * the programs' helpers and the native loader), and the kernel's BTF. Each missing piece comes with
 * the reason and the Debian package that brings it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { errnoCode } from '../base/errors.js';

export const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

export interface BpfToolchain {
  clang: string;
  bpftool: string;
}

export interface ToolchainProblem {
  what: string;
  fix: string;
}

function runs(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch (err) {
    // A tool that exists but exits non-zero for --version still exists.
    return errnoCode(err) !== 'ENOENT' && (err as { status?: number }).status !== undefined;
  }
}

/** The first of the names that runs, or undefined. */
function firstThatRuns(names: readonly string[], args: string[]): string | undefined {
  return names.find((n) => runs(n, args));
}

/** The toolchain, or every problem that keeps BPF handlers from being built here. */
export function findToolchain(): BpfToolchain | { problems: ToolchainProblem[] } {
  const problems: ToolchainProblem[] = [];
  const clang = firstThatRuns(['clang', 'clang-19', 'clang-18', 'clang-17', 'clang-16', 'clang-15', 'clang-14'], ['--version']);
  if (!clang) problems.push({ what: 'no clang (the compiler of BPF C)', fix: 'apt-get install clang-14' });
  const bpftool = firstThatRuns(['bpftool', '/usr/sbin/bpftool'], ['version']);
  if (!bpftool) problems.push({ what: 'no bpftool (it writes vmlinux.h from the kernel BTF)', fix: 'apt-get install bpftool' });
  if (!existsSync('/usr/include/bpf/libbpf.h') || !existsSync('/usr/include/bpf/bpf_helpers.h')) {
    problems.push({ what: "no libbpf headers (bpf_helpers.h, libbpf.h)", fix: 'apt-get install libbpf-dev' });
  }
  if (!existsSync(KERNEL_BTF)) problems.push({ what: `this kernel has no BTF (${KERNEL_BTF})`, fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y' });
  if (problems.length || !clang || !bpftool) return { problems };
  return { clang, bpftool };
}

/** One sentence naming every problem, and the fixes. */
export function problemsText(problems: readonly ToolchainProblem[]): { why: string; fix: string } {
  return { why: problems.map((p) => p.what).join('; '), fix: [...new Set(problems.map((p) => p.fix))].join('; ') };
}
