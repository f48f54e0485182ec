/**
 * Tracepoints whose record a `tp_btf/` program builds itself from the tracepoint's arguments
 * (TP_PROTO), as the kernel's TP_fast_assign does, so the program runs under its own recursion
 * guard (prog->active: skipped only when it interrupts itself) instead of the `tracepoint/` one
 * (bpf_prog_active: skipped while any other BPF program runs on the CPU).
 *
 * Each entry restates one TRACE_EVENT's TP_fast_assign (include/trace/events/*.h, Linux 6.18) as C
 * over the typed arguments. A kernel whose format has other fields than the entry names gets the
 * `tracepoint/` program (tpBtfAssign returns undefined). test/bpf/record-btf.test.ts proves each
 * entry field for field against ftrace's record of the same events.
 */
import type { EventFormat } from '../events/format.js';

/**
 * How one field is filled: a C expression (a number, stored in the field's size), an array of
 * them (one per element), `bytes` (a fixed array copied from a kernel pointer) or `str` (a
 * `__data_loc char[]` string read from a kernel pointer into the record's tail).
 */
type Fill = string | readonly string[] | { readonly bytes: string } | { readonly str: string };

interface Assign {
  /** The tracepoint's arguments after its `void *__data`, as `btf_trace_EVENT` types them. */
  readonly args: readonly string[];
  readonly fields: Readonly<Record<string, Fill>>;
}

/** x86_64's syscall_get_arguments: the six argument registers of a 64-bit task. */
const SYSCALL_ARGS = ['regs->di', 'regs->si', 'regs->dx', 'regs->r10', 'regs->r8', 'regs->r9'];

const ASSIGNS: Readonly<Record<string, Assign>> = {
  // id; syscall_get_arguments(current, regs, args)
  'raw_syscalls:sys_enter': { args: ['struct pt_regs *regs', 'long id'], fields: { id: 'id', args: SYSCALL_ARGS } },
  // id = syscall_get_nr(current, regs) (orig_ax); ret
  'raw_syscalls:sys_exit': { args: ['struct pt_regs *regs', 'long ret'], fields: { id: 'regs->orig_ax', ret: 'ret' } },
  'sched:sched_process_exec': {
    args: ['struct task_struct *p', 'pid_t old_pid', 'struct linux_binprm *bprm'],
    fields: { filename: { str: 'bprm->filename' }, pid: 'p->pid', old_pid: 'old_pid' },
  },
  'sched:sched_process_fork': {
    args: ['struct task_struct *parent', 'struct task_struct *child'],
    fields: { parent_comm: { str: 'parent->comm' }, parent_pid: 'parent->pid', child_comm: { str: 'child->comm' }, child_pid: 'child->pid' },
  },
  'sched:sched_process_exit': {
    args: ['struct task_struct *p', 'bool group_dead'],
    fields: { comm: { bytes: 'p->comm' }, pid: 'p->pid', prio: 'p->prio', group_dead: 'group_dead' },
  },
  'irq:irq_handler_entry': { args: ['int irq', 'struct irqaction *action'], fields: { irq: 'irq', name: { str: 'action->name' } } },
  'irq:irq_handler_exit': { args: ['int irq', 'struct irqaction *action', 'int ret'], fields: { irq: 'irq', ret: 'ret' } },
};

/** The events tpBtfAssign knows, as SYSTEM:EVENT. */
export const ASSIGNED_EVENTS = Object.keys(ASSIGNS);

/** Bytes kept of one dynamic field (a string is cut there, its last byte made NUL). */
export const DYN_CAP = 512;

/** Where the tail of a record built in the scratch area may start: offsets are masked by it for the verifier. */
const SCRATCH_MASK = 0x3fff;
/** The per-CPU scratch area a tp_btf program builds its record in. */
export const SCRATCH_BYTES = SCRATCH_MASK + 1 + 2 * DYN_CAP;

const UINT: Record<number, string> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };

/** The name a C declaration like `struct pt_regs *regs` declares. */
function argName(decl: string): string {
  return /(\w+)\s*$/.exec(decl)![1]!;
}

export interface TpBtfProgram {
  /** Declarations of the typed arguments, read from the program's context (u64 *args). */
  readonly args: string;
  /** C that fills the record at `e` (a scratch area of `fixed + dynamic * DYN_CAP` bytes) and sets `elen`. */
  readonly fill: string;
}

/**
 * The C that builds f's record from the tracepoint's arguments, or undefined when lkst knows no
 * TP_fast_assign for it or this kernel's format differs from the one it restates.
 */
export function tpBtfAssign(f: EventFormat, fixed: number): TpBtfProgram | undefined {
  const a = ASSIGNS[`${f.system}:${f.name}`];
  if (!a) return undefined;
  const own = f.fields.filter((x) => !x.name.startsWith('common_'));
  if (own.length !== Object.keys(a.fields).length) return undefined;
  const lines: string[] = [];
  for (const x of own) {
    const fill = a.fields[x.name];
    if (fill === undefined) return undefined;
    const at = `(e + ${x.offset})`;
    if (typeof fill === 'string') {
      const t = UINT[x.size];
      if (!t || x.dynamic !== 'none') return undefined;
      lines.push(`*(${t} *)${at} = (${t})(${fill});`);
    } else if ('bytes' in fill) {
      if (x.dynamic !== 'none') return undefined;
      lines.push(`bpf_probe_read_kernel(${at}, ${x.size}, ${fill.bytes});`);
    } else if ('str' in fill) {
      if (x.dynamic !== 'data_loc' || x.size !== 4) return undefined;
      // As __assign_str: the string with its NUL at the tail, the loc word offset | length << 16.
      lines.push(`{ u32 o = elen & ${SCRATCH_MASK}; long n = bpf_probe_read_kernel_str(e + o, ${DYN_CAP}, ${fill.str}); if (n <= 0) { n = 1; e[o] = 0; } *(u32 *)${at} = o | ((u32)n << 16); elen = o + (n & ${DYN_CAP * 2 - 1}); }`);
    } else {
      const n = fill.length;
      const t = UINT[x.size / n];
      if (!t || x.size % n) return undefined;
      fill.forEach((v, i) => lines.push(`*(${t} *)(e + ${x.offset + (i * x.size) / n}) = (${t})(${v});`));
    }
  }
  const args = a.args.map((d, i) => `${d} = (${d.slice(0, d.length - argName(d).length).trim()})ctx[${i}];`).join(' ');
  return { args, fill: `u32 elen = ${fixed}; ${lines.join(' ')}` };
}
