/**
 * Handlers on BPF for probe events (uprobe:, uretprobe:, kprobe:, kretprobe: lines): kprobe-type
 * programs on pt_regs, attached where the ftrace probe of the same spec is (its definition in
 * uprobe_events / kprobe_events), fetching its arguments from the registers and user (or kernel)
 * memory. The records they write have the ftrace probe event's format, byte for byte where the
 * values agree: the same id, fields, offsets and __data_loc strings after the fixed part, so a
 * report prints them as it prints the ftrace probe's.
 *
 * Fetches on BPF: %REG, $retval (return probes), $argN (kprobes), \IMM, +OFF(...)/-OFF(...)
 * dereferences (nested), with integer types (u/s/x 8..64) and string/ustring. Anything else
 * ($stack, $comm, @SYM, bitfields, arrays, symbol) is one line naming the word.
 */
import { LkstError } from '../base/errors.js';
import type { EventFormat, Field } from '../events/format.js';
import { probeDefinition, type ProbeDefinition } from '../probes/definition.js';

export type ProbeBinding = ProbeDefinition;

/** Longest string a BPF probe copies, with its NUL (the ftrace uprobe copies up to 4096). */
export const PROBE_STRING_MAX = 256;

/** Formats of probe events with their definitions (codegen asks probeOf() at its hook points). */
const bindings = new WeakMap<EventFormat, ProbeBinding>();

/**
 * The format, bound to its probe definition when it is the event of one of lkst's probes; an
 * argument the BPF engine cannot fetch is one line naming `from` (the maskset line).
 */
export function withProbe(f: EventFormat, from?: string): EventFormat {
  if (!/^lkst_\d+$/.test(f.system)) return f;
  const probe = probeDefinition(f.system, f.name);
  if (!probe) {
    const what = `${f.system}:${f.name} is a probe the BPF engine does not run (only uprobes and kprobes are)`;
    throw new LkstError(from ? `${from}: ${what}` : what, 'leave engine=bpf out: the ftrace handlers take every probe');
  }
  try {
    probeArgs(f, probe);
  } catch (err) {
    if (err instanceof LkstError && from) throw new LkstError(`${from}: ${err.what}`, err.fix);
    throw err;
  }
  bindings.set(f, probe);
  return f;
}

/** The probe behind a format bound by withProbe(), if any. */
export function probeOf(f: EventFormat): ProbeBinding | undefined {
  return bindings.get(f);
}

const REGS = new Set(['ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'sp', 'ip', 'flags', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']);
const ARG_REGS = ['di', 'si', 'dx', 'cx', 'r8', 'r9'];

function regs(reg: string): string {
  return `((struct pt_regs *)ctx)->${reg}`;
}

function refuse(p: ProbeBinding, word: string, why: string): never {
  throw new LkstError(`the BPF engine cannot fetch ${word} in a ${p.kind} (${why})`, 'fetch from a register, $retval or +OFF(%REG) with an integer or string type, or leave engine=bpf out (ftrace fetches every form)');
}

/** What a fetch gives: a value, or an address whose memory (user or kernel) holds it. */
type Fetched = { value: string } | { addr: string; mem: 'user' | 'kernel' };

function fetch(p: ProbeBinding, text: string, word: string): Fetched {
  const user = p.kind.startsWith('u');
  const reg = /^%(\w+)$/.exec(text);
  if (reg) {
    if (!REGS.has(reg[1]!)) refuse(p, word, `register %${reg[1]} is not read on BPF`);
    return { value: regs(reg[1]!) };
  }
  if (text === '$retval') {
    if (!p.kind.endsWith('retprobe')) refuse(p, word, '$retval is for return probes');
    return { value: regs('ax') };
  }
  const arg = /^\$arg(\d)$/.exec(text);
  if (arg && !user && Number(arg[1]) >= 1 && Number(arg[1]) <= 6) return { value: regs(ARG_REGS[Number(arg[1]) - 1]!) };
  const imm = /^\\(-?(?:0x[0-9a-f]+|\d+))$/i.exec(text);
  if (imm) return { value: `(u64)(${imm[1]}LL)` };
  const deref = /^([+-])(u?)(0x[0-9a-f]+|\d+)\((.+)\)$/i.exec(text);
  if (deref) {
    const inner = fetch(p, deref[4]!, word);
    const base = 'value' in inner ? inner.value : read(p, inner, 8, false);
    return { addr: `((u64)(${base}) ${deref[1]} ${deref[3]}ULL)`, mem: user || deref[2] === 'u' ? 'user' : 'kernel' };
  }
  return refuse(p, word, `${text} is not one of its fetches`);
}

/**
 * size bytes of memory at addr as a u64 (sign-extended when signed). A uprobe's program is
 * sleepable, so a user page not yet in memory is faulted in as the ftrace uprobe does (a
 * non-sleepable bpf_probe_read_user reads nothing there: a program's first call to a string in
 * .rodata read as "").
 */
function read(p: ProbeBinding, at: { addr: string; mem: 'user' | 'kernel' }, size: number, signed: boolean): string {
  const fn = at.mem === 'kernel' ? 'bpf_probe_read_kernel' : p.kind.startsWith('u') ? 'bpf_copy_from_user' : 'bpf_probe_read_user';
  const v = `({ u64 v = 0; ${fn}(&v, ${size}, (void *)(${at.addr})); v; })`;
  return signed && size < 8 ? `(u64)(s64)(s${size * 8})${v}` : v;
}

interface ProbeArg {
  name: string;
  word: string;
  field: Field;
  fetched: Fetched;
  string: boolean;
}

function probeArgs(f: EventFormat, p: ProbeBinding): ProbeArg[] {
  return p.args.map((word) => {
    const eq = word.indexOf('=');
    const name = word.slice(0, eq);
    const rest = word.slice(eq + 1);
    const t = /^(.*):([a-z]\w*(?:\[\d+\])?|b\d+@\d+\/\d+)$/.exec(rest);
    const [text, type] = t ? [t[1]!, t[2]!] : [rest, undefined];
    const field = f.fieldByName.get(name);
    if (!field) throw new LkstError(`${f.system}:${f.name} has no field '${name}' for its argument ${word}`, 'report this as a bug of lkst');
    const string = type === 'string' || type === 'ustring';
    if (type !== undefined && !string && !/^[usx](8|16|32|64)$/.test(type)) refuse(p, word, `type ${type} is not made on BPF (integers and strings are)`);
    const fetched = fetch(p, text, word);
    if (string && !('addr' in fetched)) refuse(p, word, 'a string is read from memory: write +0(%REG):string');
    return { name, word, field, fetched, string };
  });
}

function argValue(p: ProbeBinding, a: ProbeArg): string {
  const signed = a.field.signed;
  if ('addr' in a.fetched) return read(p, a.fetched, a.field.size, signed);
  return signed && a.field.size < 8 ? `(u64)(s64)(s${a.field.size * 8})(${a.fetched.value})` : `(u64)(${a.fetched.value})`;
}

/**
 * The address fields every probe record starts with, as the ftrace probe fills them. A uprobe's
 * pt_regs ip is the probed address, a return probe's the return address. A kprobe's ip is one past
 * its address (int3, or emulated so on ftrace and optimized kprobes). A kretprobe's function: the
 * kernel puts a probe on a function's entry after its ENDBR, while bpf_get_func_ip gives the
 * function's start (measured in the 6.12 guest: ...e20 against ftrace's ...e24).
 */
function ipFields(p: ProbeBinding): Record<string, string> {
  if (p.kind === 'uprobe') return { __probe_ip: regs('ip') };
  if (p.kind === 'kprobe') return { __probe_ip: `(${regs('ip')} - 1)` };
  const func = p.kind === 'uretprobe' ? 'bpf_get_func_ip(ctx)' : '({ u64 a = bpf_get_func_ip(ctx); u32 i = 0; bpf_probe_read_kernel(&i, 4, (void *)a); i == 0xfa1e0ff3 ? a + 4 : a; })';
  return { __probe_func: func, __probe_ret_ip: regs('ip') };
}


/** A count key field of a probe event: pid, an integer argument or the probe's address. */
export function probeKeyField(f: EventFormat, p: ProbeBinding, name: string, what: string): { signed: boolean; expr: string } {
  if (name === 'common_pid' || name === 'pid') return { signed: false, expr: '(u64)(u32)bpf_get_current_pid_tgid()' };
  const ip = ipFields(p)[name];
  if (ip) return { signed: false, expr: `(u64)${ip}` };
  const a = probeArgs(f, p).find((x) => x.name === name);
  const fix = `use an integer argument of the probe (${probeArgs(f, p).filter((x) => !x.string).map((x) => x.name).join(', ') || 'none'}) or pid`;
  if (!a) throw new LkstError(`${f.system}:${f.name} has no argument '${name}' to ${what}`, fix);
  if (a.string) throw new LkstError(`${f.system}:${f.name}: argument '${name}' is a string (${what} takes numbers)`, fix);
  return { signed: a.field.signed, expr: argValue(p, a) };
}

/**
 * The string copy into the record at d + off, its length (with the NUL) or < 0: the sleepable kfunc
 * in a uprobe's program; in a kprobe's, user memory for ustring, +u or an address below the kernel's
 * (the ftrace kprobe's string reads a user address as user memory too), else kernel memory.
 */
function stringCopy(p: ProbeBinding, a: ProbeArg): string {
  if (!('addr' in a.fetched)) throw new Error('a string fetch without an address');
  const args = (fn: string) => `${fn}(d + off, ${PROBE_STRING_MAX}, (void *)(${(a.fetched as { addr: string }).addr})${fn.includes('copy') ? ', 0' : ''})`;
  if (p.kind.startsWith('u')) return args('bpf_copy_from_user_str');
  if (a.word.endsWith(':ustring') || a.fetched.mem === 'user') return args('bpf_probe_read_user_str');
  return `(${a.fetched.addr}) < 0x800000000000ULL ? ${args('bpf_probe_read_user_str')} : ${args('bpf_probe_read_kernel_str')}`;
}

function store(off: number, size: number, value: string): string {
  return `{ u64 v = ${value}; __builtin_memcpy(d + ${off}, &v, ${size}); }`;
}

/**
 * The record handler's block for a probe: the ftrace probe's record built from the registers,
 * strings after the fixed fields (__data_loc: length with its NUL << 16 | offset; length 0 when the
 * address cannot be read, as the kernel writes it). The reader is woken only once the ring is a
 * quarter full (it polls every 50 ms anyway): a wake-up per record cost 5–7 µs of the probed
 * thread's CPU per hit (bench/probes.ts).
 */
export function probeRecordCall(f: EventFormat, p: ProbeBinding): string {
  const args = probeArgs(f, p);
  const fixed = f.fields.reduce((n, x) => Math.max(n, x.offset + x.size), 0);
  const ips = ipFields(p);
  const covered = new Set([...Object.keys(ips), ...args.map((a) => a.name)]);
  const stray = f.fields.find((x) => !x.name.startsWith('common_') && !covered.has(x.name));
  if (stray) throw new LkstError(`${f.system}:${f.name}: field '${stray.name}' is not one the BPF engine fills`, 'report this as a bug of lkst');
  const strings = args.filter((a) => a.string);
  const body = [
    ...Object.entries(ips).map(([name, v]) => store(f.fieldByName.get(name)!.offset, 8, `(u64)${v}`)),
    ...args.filter((a) => !a.string).map((a) => store(a.field.offset, a.field.size, argValue(p, a))),
    ...strings.map(
      (a) =>
        `{ long n = ${stringCopy(p, a)}; if (n < 0) n = 0; if (n > ${PROBE_STRING_MAX}) n = ${PROBE_STRING_MAX}; u32 loc = ((u32)n << 16) | off; __builtin_memcpy(d + ${a.field.offset}, &loc, 4); off += n; }`,
    ),
  ];
  const size = fixed + strings.length * PROBE_STRING_MAX;
  return `{ struct lkst_rec *r = bpf_ringbuf_reserve(&lkst_out, sizeof(struct lkst_rec) + ${size}, 0);
    if (!r) lkst_bump(&lkst_lost);
    else {
      u8 *d = r->data;
      u32 off = ${fixed};
      r->ts = bpf_ktime_get_ns();
      r->cpu = bpf_get_smp_processor_id();
      *(u16 *)d = ${f.id}; d[2] = 0; d[3] = 0;
      *(u32 *)(d + 4) = (u32)bpf_get_current_pid_tgid();
      ${body.join('\n      ')}
      r->len = off;
      lkst_submit(r);
    } }`;
}

function cString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The head of a probe's program. uprobes: section `uprobe.s/PATH:0xOFFSET` (or uretprobe.s/: sleepable), which
 * lkst-bpf-run attaches at that file offset itself (libbpf's own parser wants a symbol); kprobes:
 * libbpf's `kprobe/SYM+OFF` and `kretprobe/SYM`.
 */
export function probeProgramHead(f: EventFormat, p: ProbeBinding, name: string): string {
  const sec = p.kind.startsWith('u') ? `${p.kind}.s/${p.target}:0x${p.offset.toString(16)}` : `${p.kind}/${p.target}${p.offset ? `+${p.offset}` : ''}`;
  if (/[\n\0]/.test(sec)) throw new LkstError(`${f.system}:${f.name}: its target cannot be named in a BPF section`, 'use a path without newlines');
  const kfunc = p.kind.startsWith('u') ? 'extern int bpf_copy_from_user_str(void *dst, u32 dst__sz, const void *unsafe_ptr__ign, u64 flags) __ksym;\n' : '';
  return `${kfunc}SEC(${cString(sec)}) int ${name}(struct pt_regs *ctx)`;
}
