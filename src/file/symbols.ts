/** The text tables of a trace file as lookups: kallsyms, printk formats, saved cmdlines. */

export interface SymbolHit {
  name: string;
  /** Bytes past the symbol's start. */
  offset: bigint;
  module?: string;
}

/** /proc/kallsyms: exact names by address, and the nearest symbol at or below an address (%pS). */
export class KernelSymbols {
  readonly byAddress = new Map<bigint, string>();
  private readonly addrs: BigUint64Array;
  private readonly names: string[];
  private readonly modules: (string | undefined)[];

  constructor(text: string) {
    const rows: [bigint, string, string | undefined][] = [];
    const re = /^([0-9a-fA-F]+) (\S) (\S+)(?:\s+\[(\S+)\])?/gm;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const addr = BigInt('0x' + m[1]!);
      const type = m[2]!;
      if (addr === 0n || type === 'a' || type === 'A') continue;
      rows.push([addr, m[3]!, m[4]]);
      if (!this.byAddress.has(addr)) this.byAddress.set(addr, m[3]!);
    }
    rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.addrs = BigUint64Array.from(rows.map((r) => r[0]));
    this.names = rows.map((r) => r[1]);
    this.modules = rows.map((r) => r[2]);
  }

  get size(): number {
    return this.names.length;
  }

  lookup(addr: bigint): SymbolHit | undefined {
    let lo = 0;
    let hi = this.addrs.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.addrs[mid]! <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    return { name: this.names[best]!, offset: addr - this.addrs[best]!, module: this.modules[best] };
  }
}

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

/** saved_cmdlines: "pid comm" lines. */
export function parseCmdlines(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+) (.*)$/.exec(line);
    if (m) out.set(Number(m[1]), m[2]!);
  }
  return out;
}
