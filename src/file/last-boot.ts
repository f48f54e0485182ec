/**
 * A boot-persistent instance's last_boot_info, as trace-cmd 3.4 stores it (LAST_BOOT_INFO option:
 * "INSTANCE:" then the file), and the reading boot's kallsyms moved to the previous boot's places.
 * Two layouts (kernel/trace/trace.c):
 * - Linux 6.12: "text delta:\tN\ndata delta:\tN", this boot's kernel addresses minus the previous's.
 * - From 6.15: "[trace_clock: NAME\n]%lx\t[kernel]\n" then "%lx\tMODULE\n" per module loaded in the
 *   previous boot: its _text (early 6.15: its KASLR offset) and each module's text base
 *   (mod->mem[MOD_TEXT].base, what /proc/modules shows).
 * "# Current" alone: the instance holds this boot's events.
 */

export interface LastBootInfo {
  instance: string;
  /** 6.12's deltas: this boot's addresses minus the previous boot's. */
  delta?: { text: bigint; data: bigint };
  /** 6.15+: the previous boot's _text. */
  text?: bigint;
  /** Early 6.15: the previous boot's KASLR offset instead. */
  kaslr?: bigint;
  /** 6.15+: each module's text base in the previous boot. */
  modules: Map<string, bigint>;
  clock?: string;
}

/** Lowest address of the kernel image (x86_64's __START_KERNEL_map): per-CPU offsets and absolutes stay. */
const KERNEL_MAP = 0xffffffff80000000n;
/** x86_64's _text without KASLR (__START_KERNEL: the map plus CONFIG_PHYSICAL_START's default 16 MiB). */
const START_KERNEL = 0xffffffff81000000n;

/** The LAST_BOOT_INFO text read, or undefined when it names neither deltas nor the kernel's place. */
export function parseLastBootInfo(option: string): LastBootInfo | undefined {
  const colon = option.indexOf(':');
  // "trace_clock: x" starts the file itself on kernels that record the clock: no instance prefix then.
  const prefixed = colon >= 0 && !/^(trace_clock|text delta):/.test(option) && !/^[0-9a-f]+\t/.test(option);
  const instance = prefixed ? option.slice(0, colon) : '';
  const body = prefixed ? option.slice(colon + 1) : option;
  const modules = new Map<string, bigint>();
  const info: LastBootInfo = { instance, modules };
  const text = /^text delta:\s*(-?\d+)\s*$/m.exec(body);
  const data = /^data delta:\s*(-?\d+)\s*$/m.exec(body);
  if (text) {
    const t = BigInt(text[1]!);
    info.delta = { text: t, data: data ? BigInt(data[1]!) : t };
  }
  const clock = /^trace_clock:\s*(\S+)\s*$/m.exec(body);
  if (clock) info.clock = clock[1]!;
  for (const m of body.matchAll(/^([0-9a-f]+)\t+(\S+)$/gm)) {
    const addr = BigInt(`0x${m[1]}`);
    if (m[2] !== '[kernel]') modules.set(m[2]!, addr);
    else if (addr >= KERNEL_MAP) info.text = addr;
    else info.kaslr = addr;
  }
  return info.delta || info.text !== undefined || info.kaslr !== undefined ? info : undefined;
}

/** This boot's _text in a kallsyms text. */
function textOf(kallsyms: string): bigint | undefined {
  const m = /^([0-9a-f]{16}) [tT] _text$/m.exec(kallsyms);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** This boot's kernel addresses minus the previous boot's (text, data), or undefined when unknown. */
export function kernelDelta(info: LastBootInfo, kallsyms: string): { text: bigint; data: bigint } | undefined {
  if (info.delta) return info.delta;
  const now = textOf(kallsyms);
  if (now === undefined) return undefined;
  // The whole image moves as one: data with text.
  const before = info.text ?? (info.kaslr !== undefined ? START_KERNEL + info.kaslr : undefined);
  return before === undefined ? undefined : { text: now - before, data: now - before };
}

/** Each module's text base in /proc/modules text ("NAME SIZE REFS DEPS STATE ADDR ..."). */
export function moduleBases(procModules: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  // Zero: addresses hidden from who read it (not root).
  for (const m of procModules.matchAll(/^(\S+) \d+ .* (0x[0-9a-f]+)\b.*$/gm)) if (BigInt(m[2]!)) out.set(m[1]!, BigInt(m[2]!));
  return out;
}

export interface ModulePlaces {
  /** Previous text base minus this boot's, per module loaded in both boots. */
  shift: Map<string, bigint>;
  /** Modules of the previous boot whose addresses stay unresolved (not in this boot, or its base unknown). */
  unplaced: string[];
  /** Modules of this boot not loaded in the previous one: left out (their addresses meant other code then). */
  absent: string[];
}

/** 6.15+ lists every module of the previous boot (none when none was loaded); 6.12 none. */
const listsModules = (info: LastBootInfo) => !info.delta;

/** Where each module moved between the boots: last_boot_info's bases against this boot's /proc/modules. */
export function placeModules(info: LastBootInfo, procModules?: string): ModulePlaces {
  const now = procModules ? moduleBases(procModules) : new Map<string, bigint>();
  const shift = new Map<string, bigint>();
  for (const [name, before] of info.modules) {
    const here = now.get(name);
    if (here !== undefined) shift.set(name, before - here);
  }
  const unplaced = [...info.modules.keys()].filter((m) => !shift.has(m)).sort();
  const absent = listsModules(info) ? [...now.keys()].filter((m) => !info.modules.has(m)).sort() : [];
  return { shift, unplaced, absent };
}

export interface ShiftedKallsyms extends ModulePlaces {
  text: string;
}

const hex16 = (a: bigint) => BigInt.asUintN(64, a).toString(16).padStart(16, '0');

/**
 * kallsyms with the core kernel's symbols moved to where they were in the previous boot, and each
 * module's code to its previous text base (last_boot_info) minus this boot's (procModules, the
 * file's MODULES_FILE). A module's other symbols (data, in separate allocations since 6.4 that
 * move apart from its text) and modules not placed in both boots are left out, so no previous-boot
 * address resolves to a symbol that was not there. 6.12 names no module: module lines stay as they
 * are, as before.
 */
export function shiftKallsyms(text: string, info: LastBootInfo, procModules?: string): ShiftedKallsyms {
  const d = kernelDelta(info, text) ?? { text: 0n, data: 0n };
  const places = placeModules(info, procModules);
  const withModules = listsModules(info);
  if (d.text === 0n && d.data === 0n && !withModules) return { text, ...places };
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp !== 16) { out.push(line); continue; }
    const addr = BigInt(`0x${line.slice(0, 16)}`);
    const type = line[17];
    const code = type === 't' || type === 'T';
    const tab = line.indexOf('\t[');
    if (tab >= 0) {
      if (!withModules) { out.push(line); continue; }
      const by = places.shift.get(line.slice(tab + 2, line.endsWith(']') ? -1 : undefined));
      if (by !== undefined && code) out.push(hex16(addr + by) + line.slice(16));
      continue;
    }
    if (addr < KERNEL_MAP) { out.push(line); continue; }
    out.push(hex16(addr - (code ? d.text : d.data)) + line.slice(16));
  }
  return { text: out.join('\n'), ...places };
}

/** The warning for modules a last boot's addresses cannot be resolved in, or undefined when none. */
export function unplacedWarning(s: Pick<ModulePlaces, 'unplaced' | 'absent'>): string | undefined {
  const parts: string[] = [];
  const list = (l: string[]) => `${l.slice(0, 5).join(', ')}${l.length > 5 ? ', …' : ''}`;
  if (s.unplaced.length) parts.push(`${s.unplaced.length} module(s) of the previous boot not placed in this one (${list(s.unplaced)})`);
  if (s.absent.length) parts.push(`${s.absent.length} module(s) of this boot not loaded in the previous one (${list(s.absent)})`);
  return parts.length ? `last boot: addresses in ${parts.join(' and ')} stay unresolved` : undefined;
}
