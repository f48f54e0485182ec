// recoverFromDump: a crash dump as one more source of the trace shape (formats + per-CPU pages + metadata).
import { shownText } from '../base/text.js';
import { openTraceDat } from '../file/reader.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { formatMap } from './events.js';
import { Btf } from './btf.js';
import { dumpError, LkstError } from './errors.js';
import { eventIds, HEADER_EVENT_TEXT, headerPageText, recoverFormats, type RecoveredFormat } from './formats.js';
import { listTraceArrays, savedCmdlines } from './ftrace.js';
import { decodeKallsyms, SymbolTable } from './kallsyms.js';
import { moduleSymbols } from './modules.js';
import { moduleLines } from './module-list.js';
import { findPanic, type PanicInfo } from './printk.js';
import { printkFormats } from './printk-formats.js';
import { Kernel } from './kernel.js';
import { openDump } from './open.js';
import type { PhysMemory } from './physmem.js';
import { readRingBuffer, type CpuPages } from './ringbuffer.js';
import { loadKernelImage } from './kernel-image.js';
import { loadSystemMap, relocatedTable } from './systemmap.js';
import { parseVmcoreInfo, scanForVmcoreInfo, type ScanProgress, type VmcoreInfo } from './vmcoreinfo.js';
import { describeTail, summarizeBuffer, type BufferSummary, type LastEvent } from './summary.js';
import { MAX_KERNEL_READ, X86Memory } from './x86_64.js';

export type { BufferSummary, CpuSummary, LastEvent } from './summary.js';

export interface RecoverOptions {
  /** System.map of the crashed kernel, when the dump's own kallsyms cannot be used. */
  systemMap?: string;
  /** vmlinux or vmlinuz of the crashed kernel: BTF (if the dump's is unreadable) and symbols (vmlinux). */
  kernel?: string;
  /** How many of the last events before the panic the summary lists. */
  lastEvents?: number;
  /**
   * A trace.dat recorded on the same kernel build: formats for events the dump's ftrace_events
   * list cannot give (damaged or filtered memory). Ids must be from the same build.
   */
  formatsFrom?: string;
  /** Told how far the scan of a raw image for VMCOREINFO has got (the one step that reads the whole dump). */
  progress?: ScanProgress;
}

export interface RecoverySummary {
  dump: string;
  format: string;
  osrelease: string;
  kaslrOffset: bigint;
  pagingLevels: number;
  /** The panic's time (kernel log clock, ns since boot) and message, when the log has them. */
  panic?: PanicInfo;
  buffers: BufferSummary[];
  lastEvents: LastEvent[];
  warnings: string[];
  elapsedMs: number;
}

export interface RecoveredBuffer {
  name: string;
  meta: TraceMeta;
  cpus: CpuPages[];
}

export interface Recovery {
  /** The top-level buffer first, then each instance. Their pages are read from the still open dump. */
  buffers: RecoveredBuffer[];
  /** Closes the dump; pages cannot be read after. */
  close(): void;
  formats: RecoveredFormat[];
  summary: RecoverySummary;
}

export function loadVmcoreInfo(mem: PhysMemory, progress?: ScanProgress): VmcoreInfo {
  const text = mem.vmcoreinfo ?? scanForVmcoreInfo(mem, undefined, progress);
  if (!text) throw dumpError('no VMCOREINFO in the dump (no note, and none found in memory)', 'this is not a Linux kernel dump, or the memory holding VMCOREINFO is missing');
  const info = parseVmcoreInfo(text);
  if (!info.symbols.has('init_top_pgt') && !info.symbols.has('swapper_pg_dir') || !info.numbers.has('phys_base')) {
    // The same text from a damaged note: an x86_64 kernel's VMCOREINFO always has both.
    throw dumpError(`the dump's VMCOREINFO (${shownText(info.osrelease ?? 'no OSRELEASE')}) lacks init_top_pgt or phys_base: it is damaged, or not an x86_64 kernel's`,
      'lkst recovers x86_64 dumps only; if this is one, recover from an intact copy of the dump');
  }
  return info;
}

export function openKernel(mem: PhysMemory, opts: RecoverOptions = {}): Kernel {
  const info = loadVmcoreInfo(mem, opts.progress);
  const x86 = new X86Memory(mem, info);
  const image = opts.kernel ? loadKernelImage(opts.kernel) : undefined;
  const syms: SymbolTable = opts.systemMap ? loadSystemMap(opts.systemMap, info)
    : image?.symbols.length ? relocatedTable(image.symbols, info, opts.kernel!)
      : decodeKallsyms(x86, info);
  let btf: Btf;
  try {
    const start = syms.addr('__start_BTF');
    const stop = syms.addr('__stop_BTF');
    if (stop <= start || stop - start > BigInt(MAX_KERNEL_READ)) throw dumpError('implausible BTF bounds in the kernel image', 'the symbols do not match this dump; give the matching --system-map');
    btf = new Btf(x86.read(start, Number(stop - start)));
  } catch (e) {
    if (!image?.btf) throw e;
    btf = new Btf(image.btf);
  }
  return new Kernel(x86, syms, btf, info);
}

export function recoverFromDump(path: string, opts: RecoverOptions = {}): Recovery {
  const t0 = Date.now();
  const mem = openDump(path);
  try {
    const rec = recoverFromMemory(mem, path, opts, t0);
    rec.close = () => mem.close();
    return rec;
  } catch (e) {
    mem.close();
    throw e;
  }
}

export function recoverFromMemory(mem: PhysMemory, path: string, opts: RecoverOptions = {}, t0 = Date.now()): Recovery {
  const k = openKernel(mem, opts);
  const warnings: string[] = [];
  if (!k.syms.get('global_trace') || !k.syms.get('ftrace_events')) {
    throw dumpError('the crashed kernel has no ftrace (no global_trace symbol)', 'nothing to recover: the kernel was built without CONFIG_TRACING');
  }
  const panic = safe(() => findPanic(k), undefined, warnings, 'kernel log');
  const modSyms = safe(() => moduleSymbols(k, warnings), [], warnings, 'module symbols');
  const allSyms = modSyms.length ? new SymbolTable([...k.syms.syms, ...modSyms]) : k.syms;
  const arrays = listTraceArrays(k);
  const known = safe(() => eventIds(k), undefined, warnings, 'event ids (records are not checked against them)');
  const ids = new Set<number>();
  const raw: Array<{ name: string; clock: string; pageSize: number; cpus: CpuPages[] }> = [];
  for (const tr of arrays) {
    try {
      const rb = readRingBuffer(k, tr.buffer, known);
      raw.push({ name: tr.name, clock: tr.clock, pageSize: rb.pageSize, cpus: rb.cpus });
      for (const c of rb.cpus) {
        warnings.push(...c.problems.map((p) => `${tr.name}: ${p}`));
        if (c.missingPages) warnings.push(`${tr.name}: cpu${c.cpu}: ${c.missingPages} page(s) not in the dump (filtered or truncated); their events are lost`);
      }
    } catch (e) {
      if (!(e instanceof LkstError)) throw e;
      warnings.push(`buffer ${tr.name}: ${e.message}`);
    }
  }
  // One pass over the pages: counts, ids in use, last records; formats are then read for those ids.
  const sums = raw.map((b) => summarizeBuffer(b, ids, { keep: opts.lastEvents ?? 20, panicTs: panic?.ts }, warnings));
  const fr = safe(() => recoverFormats(k, ids), { formats: [], skipped: [] }, warnings, 'event formats');
  const byId = new Map(fr.formats.map((f) => [f.id, f]));
  if (opts.formatsFrom) {
    for (const f of formatsFromFile(opts.formatsFrom)) {
      if (ids.has(f.id) && !byId.has(f.id)) { byId.set(f.id, f); fr.formats.push(f); }
    }
  }
  const lacking = [...ids].filter((id) => !byId.has(id));
  if (lacking.length) warnings.push(`no format for event id(s) ${lacking.join(', ')} (${fr.skipped[0] ?? 'not on the ftrace_events list'}); those events show as raw ids`);
  const used = fr.formats.filter((f) => ids.has(f.id) || f.system === 'ftrace');
  const bySystem = new Map<string, string[]>();
  for (const f of used) {
    if (f.system === 'ftrace') continue;
    const l = bySystem.get(f.system);
    if (l) l.push(f.text); else bySystem.set(f.system, [f.text]);
  }
  const common = {
    headerEvent: HEADER_EVENT_TEXT,
    ftraceFormats: used.filter((f) => f.system === 'ftrace').map((f) => f.text),
    eventFormats: [...bySystem].map(([system, formats]) => ({ system, formats })),
    kallsyms: allSyms.text(),
    printk: safe(() => printkFormats(k), '', warnings, 'printk formats'),
    cmdlines: safe(() => savedCmdlines(k), '', warnings, 'saved cmdlines'),
    // No LAST_BOOT_INFO: kallsyms here already has the crashed boot's addresses.
    modules: safe(() => moduleLines(k), '', warnings, 'module list') || undefined,
    uname: `Linux ${k.info.osrelease ?? 'unknown'}`,
  };
  const symbolize = (a: bigint) => {
    if (a < 0xffff800000000000n) return undefined;
    const s = allSyms.lookup(a);
    return s && a - s.addr < 0x100000n ? `${s.name}+0x${(a - s.addr).toString(16)}${s.module ? ` [${s.module}]` : ''}` : undefined;
  };
  const parsed = formatMap(used);
  const buffers: RecoveredBuffer[] = raw.map((b, i) => ({
    name: b.name, cpus: b.cpus,
    meta: {
      ...common, headerPage: headerPageText(k, b.pageSize), clock: b.clock, pageSize: b.pageSize,
      cpuCount: Math.max(0, ...b.cpus.map((c) => c.cpu + 1)), instance: b.name === 'top' ? undefined : b.name, cpuStats: sums[i].stats,
    },
  }));
  const summaries = sums.map((s) => s.summary);
  const lastEvents = sums.flatMap((s) => describeTail(s.tail, parsed, symbolize));
  return {
    buffers, formats: used, close: () => undefined,
    summary: {
      dump: path, format: mem.format, osrelease: k.info.osrelease ?? 'unknown', kaslrOffset: k.info.kernelOffset ?? 0n,
      pagingLevels: k.mem.levels, panic, buffers: summaries, lastEvents, warnings, elapsedMs: Date.now() - t0,
    },
  };
}

function formatsFromFile(path: string): RecoveredFormat[] {
  const file = openTraceDat(path);
  try {
    return file.registry.all().map((f) => ({ id: f.id, system: f.system, name: f.name, text: f.text }));
  } finally {
    file.close();
  }
}

function safe<T>(f: () => T, dflt: T, warnings: string[], what: string): T {
  try {
    return f();
  } catch (e) {
    warnings.push(`${what}: ${(e as Error).message}`);
    return dflt;
  }
}
