/** The text tables of a trace file as lookups: kallsyms, printk formats, saved cmdlines. */

export interface SymbolHit {
  name: string;
  /** Bytes past the symbol's start. */
  offset: bigint;
  module?: string;
}

/**
 * /proc/kallsyms: the nearest symbol at or below an address (%pS), and exact names by address.
 * Addresses are kept as two u32 halves so parsing and lookups need no bigint arithmetic.
 */
export class KernelSymbols {
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  private readonly names: string[];
  private readonly modules: (string | undefined)[];
  private exact?: Map<bigint, string>;

  constructor(text: string) {
    const hi: number[] = [];
    const lo: number[] = [];
    const names: string[] = [];
    const modules: (string | undefined)[] = [];
    let p = 0;
    while (p < text.length) {
      let nl = text.indexOf('\n', p);
      if (nl < 0) nl = text.length;
      // "ADDR T name" or "ADDR t name\t[module]"
      const sp1 = text.indexOf(' ', p);
      if (sp1 > p && sp1 < nl && sp1 + 3 < nl && text[sp1 + 2] === ' ') {
        const type = text[sp1 + 1]!;
        const addr = text.slice(Math.max(p, sp1 - 16), sp1);
        const h = sp1 - p > 8 ? parseInt(text.slice(p, sp1 - 8), 16) : 0;
        const l = parseInt(addr.slice(-8), 16);
        if (type !== 'a' && type !== 'A' && Number.isFinite(h) && Number.isFinite(l) && (h || l)) {
          const rest = text.slice(sp1 + 3, nl);
          const tab = rest.search(/\s/);
          hi.push(h);
          lo.push(l);
          names.push(tab < 0 ? rest : rest.slice(0, tab));
          const mod = tab < 0 ? undefined : /\[(\S+)\]/.exec(rest.slice(tab))?.[1];
          modules.push(mod);
        }
      }
      p = nl + 1;
    }
    const order = Array.from(hi.keys()).sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]! || a - b);
    this.hi = Uint32Array.from(order, (i) => hi[i]!);
    this.lo = Uint32Array.from(order, (i) => lo[i]!);
    this.names = order.map((i) => names[i]!);
    this.modules = order.map((i) => modules[i]);
  }

  get size(): number {
    return this.names.length;
  }

  /** Names by exact address (the first symbol listed at an address), built on first use. */
  get byAddress(): Map<bigint, string> {
    if (!this.exact) {
      this.exact = new Map();
      for (let i = this.names.length - 1; i >= 0; i--) this.exact.set((BigInt(this.hi[i]!) << 32n) | BigInt(this.lo[i]!), this.names[i]!);
    }
    return this.exact;
  }

  lookup(addr: bigint): SymbolHit | undefined {
    return this.lookupParts(Number((addr >> 32n) & 0xffffffffn), Number(addr & 0xffffffffn));
  }

  /** The same for an address given as its high and low u32 halves, as a record holds it. */
  lookupParts(hi: number, lo: number): SymbolHit | undefined {
    let a = 0;
    let b = this.names.length - 1;
    let best = -1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      const h = this.hi[mid]!;
      if (h < hi || (h === hi && this.lo[mid]! <= lo)) {
        best = mid;
        a = mid + 1;
      } else b = mid - 1;
    }
    if (best < 0) return undefined;
    // Among equal addresses the last one sorted wins the search; report the first listed.
    while (best > 0 && this.hi[best - 1] === this.hi[best] && this.lo[best - 1] === this.lo[best]) best--;
    const offset = (BigInt(hi - this.hi[best]!) << 32n) + BigInt(lo - this.lo[best]!);
    return { name: this.names[best]!, offset, module: this.modules[best] };
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
