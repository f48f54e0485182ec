/**
 * common_flags and common_preempt_count of a BPF record, made as the kernel's tracing_gen_ctx makes
 * them for ftrace (kernel/trace/trace.c, trace_events.h TRACE_FLAG_*), from what a BPF program can
 * read: the CPU's preempt count (the per-CPU `__preempt_count`, found as below), the current task's
 * thread flags and migration_disabled (BTF), and the interrupt flag (the bpf_local_irq_save kfunc
 * returns the saved EFLAGS; x86).
 *
 * The preempt count a program sees is one above the event's: the tracepoint disabled preemption
 * around its probes (ftrace takes one off likewise: tracing_gen_ctx_dec). A `tracepoint/` (or
 * kprobe) program also runs with migration disabled once more than the event (bpf_prog_run_array):
 * mig_skew, 1 there, 0 in a tp_btf program (measured: test/bpf/record-btf.test.ts). TIF bit numbers are not in
 * BTF: they are the generic ones when the kernel's config says HAVE_GENERIC_TIF_BITS, x86's older
 * ones otherwise, and unknown (need-resched flags left 0) when the config cannot be read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { release } from 'node:os';

/** TIF_NEED_RESCHED and TIF_NEED_RESCHED_LAZY of the running kernel, or undefined when not known. */
export function tifBits(): { resched: number; lazy: number } | undefined {
  let config: string | undefined;
  try {
    const boot = `/boot/config-${release()}`;
    if (existsSync(boot)) config = readFileSync(boot, 'utf8');
    else if (existsSync('/proc/config.gz')) config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    return undefined;
  }
  if (config === undefined) return undefined;
  if (/^CONFIG_X86_64=y$/m.test(config) === false) return undefined;
  return /^CONFIG_HAVE_GENERIC_TIF_BITS=y$/m.test(config) ? { resched: 4, lazy: 5 } : { resched: 3, lazy: 4 };
}

/**
 * Where this CPU's preempt count is: its offset in the per-CPU area and that of `runqueues`, whose
 * copy for this CPU the current task's run queue is (BTF's .data..percpu section). The kernel
 * finds neither symbol for a program (no CONFIG_KALLSYMS_ALL here), so the program goes from
 * the current task's run queue to the count.
 */
export interface PercpuOffsets {
  runqueues: number;
  preemptCount: number;
  /** bpf_prog_active: non-zero while a tracepoint/kprobe program runs on the CPU (the recursion guard; see guardSource). */
  bpfProgActive?: number;
}

/** C of `(u8 *)` this CPU's copy of a per-CPU variable at offset, or 0 when the current task's run queue is another CPU's (it is being moved). */
function percpuAddress(at: PercpuOffsets): string {
  return `static __always_inline u8 *lkst_percpu(u32 off) {
  struct rq *rq = bpf_get_current_task_btf()->se.cfs_rq->rq;
  return rq->cpu == bpf_get_smp_processor_id() ? (u8 *)rq - ${at.runqueues} + off : 0;
}
`;
}

/**
 * C of lkst_guard(): run at a tracepoint before the kernel decides whether to run its
 * \`tracepoint/\` program, it counts per CPU in lkst_missed the events that program will not see
 * (bpf_prog_active already held by another BPF program on this CPU, trace_call_bpf): key 0, or key 2
 * for the recorder's own processes (left out anyway); key 1 when this CPU's count could not be read.
 */
export function guardSource(at: PercpuOffsets): string {
  return `struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 3); __type(key, u32); __type(value, u64); } lkst_missed SEC(".maps");
static __always_inline void lkst_guard(u32 own) {
  int active = 0;
  u8 *p = lkst_percpu(${at.bpfProgActive});
  if (!p || bpf_probe_read_kernel(&active, 4, p)) { lkst_bumpk(&lkst_missed, 1); return; }
  if (active) lkst_bumpk(&lkst_missed, own ? 2 : 0);
}
`;
}

/** The C of lkst_common(): common_flags in the low byte, common_preempt_count in the high one. */
export function commonFieldsSource(at: PercpuOffsets, tif = tifBits()): string {
  const resched = tif
    ? `  if (ti & (1UL << ${tif.resched})) f |= 0x04; /* TRACE_FLAG_NEED_RESCHED */
  if (ti & (1UL << ${tif.lazy})) f |= 0x02; /* TRACE_FLAG_NEED_RESCHED_LAZY */
`
    : '';
  return `${percpuAddress(at)}/* mig_skew: the program's own migrate_disable (see common-fields.ts). */
extern void bpf_local_irq_save(unsigned long *) __ksym;
extern void bpf_local_irq_restore(unsigned long *) __ksym;
static __always_inline u16 lkst_common(const u32 mig_skew) {
  struct task_struct *t = bpf_get_current_task_btf();
  u8 *at = lkst_percpu(${at.preemptCount});
  u32 pc = 0;
  /* Not known (0) while the task is being moved to another CPU. */
  if (!at || bpf_probe_read_kernel(&pc, 4, at)) return 0;
  unsigned long irq, ti = t->thread_info.flags;
  bpf_local_irq_save(&irq);
  bpf_local_irq_restore(&irq);
  u8 f = 0;
  if (!(irq & 0x200)) f |= 0x01; /* TRACE_FLAG_IRQS_OFF: EFLAGS.IF clear */
${resched}  if (pc & 0x00f00000) f |= 0x40; /* NMI_MASK: TRACE_FLAG_NMI */
  if (pc & 0x000f0000) f |= 0x08; /* HARDIRQ_MASK: TRACE_FLAG_HARDIRQ */
  if (pc & 0x00000100) f |= 0x10; /* in_serving_softirq: TRACE_FLAG_SOFTIRQ */
  if ((pc & 0x0000ff00) >> 9) f |= 0x80; /* bottom halves disabled: TRACE_FLAG_BH_OFF */
  if (!(pc & 0x80000000)) f |= 0x20; /* PREEMPT_NEED_RESCHED is inverted: TRACE_FLAG_PREEMPT_RESCHED */
  u32 depth = pc & 0xff, mig = t->migration_disabled;
  depth = depth ? depth - 1 : 0;
  mig = mig > mig_skew ? mig - mig_skew : 0;
  if (depth > 15) depth = 15;
  if (mig > 15) mig = 15;
  return f | (u16)((depth | (mig << 4)) << 8);
}
`;
}
