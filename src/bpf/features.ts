/**
 * Which kinds of BPF program this kernel lets lkst attach to tracepoints, found by building and
 * loading one small program of each kind (tracepoint, raw_tracepoint, tp_btf) and its ring buffer:
 * bpftool's `feature probe` is not trusted (here it calls tp_btf's program type unavailable, yet
 * tp_btf programs load). The answer is cached per kernel BTF beside vmlinux.h.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { checkBpfObject } from './check.js';
import { btfCacheDir, compileBpf, requireToolchain, vmlinuxHeaderDir } from './compile.js';
import { KERNEL_BTF, type BpfToolchain } from './toolchain.js';
import { commonFieldsSource, type PercpuOffsets } from './common-fields.js';
import type { ProgramOptions } from './codegen.js';

export const PROGRAM_KINDS = ['tracepoint', 'raw_tracepoint', 'tp_btf'] as const;
export type ProgramKind = (typeof PROGRAM_KINDS)[number];

export interface BpfFeatures {
  /** Why no BPF handler can run here (toolchain, BTF, permissions); absent when some can. */
  unavailable?: { why: string; fix: string };
  /** The toolchain found (when available): compileBpf takes it instead of looking again. */
  tools?: BpfToolchain;
  /** Per kind of program: true, or the kernel's reason for refusing it. */
  kinds: Partial<Record<ProgramKind, true | string>>;
  /** Where programs find the per-CPU preempt count for common_flags/preempt_count, or why they cannot. */
  common?: PercpuOffsets | string;
  /** The tracepoints a tp_btf program can attach to (BTF's btf_trace_NAME types). */
  btfTracepoints?: string[];
}

const PROBE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } out SEC(".maps");
static void note(u64 v) { u64 *r = bpf_ringbuf_reserve(&out, 8, 0); if (r) { *r = v; bpf_ringbuf_submit(r, 0); } }
SEC("tracepoint/sched/sched_switch") int probe_tracepoint(void *ctx) { note(bpf_ktime_get_ns()); return 0; }
SEC("raw_tracepoint/sched_switch") int probe_raw_tracepoint(struct bpf_raw_tracepoint_args *ctx) { note(ctx->args[0]); return 0; }
SEC("tp_btf/sched_switch") int BPF_PROG(probe_tp_btf, bool preempt, struct task_struct *prev) { note(prev->pid); return 0; }
`;

function probe(tools: BpfToolchain): BpfFeatures {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpf-probe-'));
  try {
    const src = join(dir, 'probe.bpf.c');
    writeFileSync(src, PROBE);
    compileBpf(src, join(dir, 'probe.o'), [], tools);
    const kinds: BpfFeatures['kinds'] = {};
    for (const kind of PROGRAM_KINDS) {
      try {
        checkBpfObject(join(dir, 'probe.o'), [`probe_${kind}`]);
        kinds[kind] = true;
      } catch (err) {
        if (!(err instanceof LkstError)) throw err;
        kinds[kind] = err.what;
      }
    }
    if (!Object.values(kinds).some((v) => v === true)) return { kinds, unavailable: { why: `the kernel loads none of lkst's BPF programs (${kinds.raw_tracepoint})`, fix: 'run as root on a kernel with BPF and BTF, not locked down for confidentiality' } };
    const dump = btfDump(tools);
    const btfTracepoints = typeof dump === 'string' ? [...dump.matchAll(/^\[\d+\] TYPEDEF 'btf_trace_(\w+)'/gm)].map((m) => m[1]!) : [];
    return { kinds, tools, common: probeCommon(tools, dir, dump), btfTracepoints };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kernel's BTF as bpftool's raw dump. */
function btfDump(tools: BpfToolchain): string | { failed: string } {
  const r = spawnSync(tools.bpftool, ['btf', 'dump', 'file', KERNEL_BTF], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return r.status === 0 ? r.stdout : { failed: `bpftool btf dump failed: ${r.stderr.trim()}` };
}

/** The .data..percpu offsets of runqueues, __preempt_count and bpf_prog_active in the kernel's BTF, or why they are not there. */
function percpuOffsets(dump: string | { failed: string }): PercpuOffsets | string {
  if (typeof dump !== 'string') return dump.failed;
  const r = { stdout: dump };
  const at = (name: string) => new RegExp(`offset=(\\d+) size=\\d+ \\(VAR '${name}'\\)`).exec(r.stdout)?.[1];
  const rq = at('runqueues');
  const pc = at('__preempt_count');
  const active = at('bpf_prog_active');
  if (!rq || !pc) return 'the kernel BTF has no per-CPU runqueues or __preempt_count';
  return { runqueues: Number(rq), preemptCount: Number(pc), ...(active ? { bpfProgActive: Number(active) } : {}) };
}

/** Whether a program filling the common fields (common-fields.ts) loads. */
function probeCommon(tools: BpfToolchain, dir: string, dump: string | { failed: string }): PercpuOffsets | string {
  const at = percpuOffsets(dump);
  if (typeof at === 'string') return at;
  const src = join(dir, 'common.bpf.c');
  writeFileSync(src, `#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\nu16 seen;\n${commonFieldsSource(at)}SEC("tp_btf/sched_switch") int probe_common(void *ctx) { seen = lkst_common(0); return 0; }\n`);
  try {
    compileBpf(src, join(dir, 'common.o'), [], tools);
    checkBpfObject(join(dir, 'common.o'), ['probe_common']);
    return at;
  } catch (err) {
    if (!(err instanceof LkstError)) throw err;
    return err.what;
  }
}

/**
 * The code generator's options for this kernel: tp_btf programs, common fields and guards where they
 * load. LKST_BPF_GUARDS=0 leaves the guards out (misses then have no known CPU, as on a kernel
 * without the per-CPU offsets).
 */
export function programOptions(f: BpfFeatures = detectBpf()): ProgramOptions {
  const tpBtf = f.kinds.tp_btf === true;
  const guards = tpBtf && process.env['LKST_BPF_GUARDS'] !== '0';
  return { ...(tpBtf ? { tpBtf } : {}), ...(guards ? { btfTracepoints: new Set(f.btfTracepoints) } : {}), ...(typeof f.common === 'object' ? { common: f.common } : {}) };
}

/**
 * What BPF handlers can do on this kernel: probed once per kernel BTF, then read from the cache
 * (one stat and one small read; the toolchain is looked for again only when a cached tool is gone).
 * LKST_NO_BPF=1 turns the engine off (handlers with an ftrace form run there).
 */
export function detectBpf(): BpfFeatures {
  if (process.env['LKST_NO_BPF']) return { kinds: {}, unavailable: { why: 'LKST_NO_BPF is set', fix: 'unset LKST_NO_BPF to use the BPF engine' } };
  if (process.getuid?.() !== 0) return { kinds: {}, unavailable: { why: 'loading BPF programs needs root', fix: 'run lkst as root' } };
  if (!existsSync(KERNEL_BTF)) return { kinds: {}, unavailable: { why: `this kernel has no BTF (${KERNEL_BTF})`, fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y' } };
  const cache = join(btfCacheDir(), 'features.json');
  if (existsSync(cache)) {
    try {
      const f = JSON.parse(readFileSync(cache, 'utf8')) as BpfFeatures;
      // A cache from before the common-fields probe is probed again.
      const probed = f.unavailable || f.btfTracepoints !== undefined;
      if ((!f.tools || (toolExists(f.tools.clang) && toolExists(f.tools.bpftool))) && probed) return f;
    } catch {
      /* probed again below */
    }
  }
  let tools;
  try {
    tools = requireToolchain();
  } catch (err) {
    if (!(err instanceof LkstError)) throw err;
    return { kinds: {}, unavailable: { why: err.what.replace(/^BPF handlers cannot be built here: /, ''), fix: err.fix } };
  }
  vmlinuxHeaderDir(tools);
  const f = probe(tools);
  writeFileSync(cache, JSON.stringify(f));
  return f;
}

/** Whether a tool named as findToolchain found it (a name on PATH or a path) is still there. */
function toolExists(name: string): boolean {
  if (name.includes('/')) return existsSync(name);
  return (process.env['PATH'] ?? '').split(':').some((d) => d && existsSync(join(d, name)));
}
