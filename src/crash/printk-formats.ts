// printk_formats text for trace_printk (bprint) events: the format strings their records point to,
// from the kernel's __trace_printk_fmt and tracepoint_str sections and the modules' format list.
import type { Kernel } from './kernel.js';

function escapeC(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/"/g, '\\"');
}

function section(k: Kernel, start: string, stop: string, out: Map<bigint, string>): void {
  const a = k.syms.get(start)?.addr;
  const b = k.syms.get(stop)?.addr;
  if (a === undefined || b === undefined || b <= a || b - a > 1n << 20n) return;
  const ptrs = k.mem.read(a, Number(b - a));
  for (let i = 0; i + 8 <= ptrs.length; i += 8) {
    const p = ptrs.readBigUInt64LE(i);
    if (p !== 0n && !out.has(p)) out.set(p, k.mem.cstring(p, 1024));
  }
}

export function printkFormats(k: Kernel): string {
  const out = new Map<bigint, string>();
  section(k, '__start___trace_bprintk_fmt', '__stop___trace_bprintk_fmt', out);
  section(k, '__start___tracepoint_str', '__stop___tracepoint_str', out);
  const list = k.syms.get('trace_bprintk_fmt_list');
  if (list && k.btf.hasStruct('trace_bprintk_fmt')) {
    for (const e of k.listEntries(list.addr, 'trace_bprintk_fmt', 'list', 100_000)) {
      const p = k.obj(e, 'trace_bprintk_fmt').ptr('fmt');
      if (p !== 0n && !out.has(p)) out.set(p, k.mem.cstring(p, 1024));
    }
  }
  return [...out].map(([a, s]) => `0x${a.toString(16)} : "${escapeC(s)}"\n`).join('');
}
