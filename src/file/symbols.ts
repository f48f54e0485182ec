/** printk_formats of a trace file as a lookup (kallsyms and saved_cmdlines: events/kallsyms.ts, events/cmdlines.ts). */

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

function unescapeC(s: string): string {
  return s.replace(/\\(.)/g, (all, ch: string) => ESCAPES[ch] ?? all);
}

/** printk_formats: `0xADDR : "format"` lines, the format strings of trace_printk/bprint by address. */
export function parsePrintkFormats(text: string): Map<bigint, string> {
  const out = new Map<bigint, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(0x[0-9a-fA-F]+)\s*:\s*"(.*)"\s*$/.exec(line);
    if (m) out.set(BigInt(m[1]!), unescapeC(m[2]!));
  }
  return out;
}
