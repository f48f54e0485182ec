// A System.map (or /proc/kallsyms text) as the symbol table, shifted by the dump's KASLR offset.
import { readFileSync } from 'node:fs';
import { dumpError } from './errors.js';
import { SymbolTable, type KSym } from './kallsyms.js';
import type { VmcoreInfo } from './vmcoreinfo.js';

export function loadSystemMap(path: string, info: VmcoreInfo): SymbolTable {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (e) {
    throw dumpError(`cannot read system map ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the --system-map path');
  }
  const syms: KSym[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) (\S) (\S+)/.exec(line);
    if (m) syms.push({ addr: BigInt('0x' + m[1]), type: m[2], name: m[3] });
  }
  if (syms.length === 0) throw dumpError(`${path} holds no symbols`, 'give the System.map file of the crashed kernel');
  // A System.map has link-time addresses; relocate them unless they already match the dump.
  const stext = syms.find((s) => s.name === '_stext');
  const want = info.symbols.get('_stext');
  const shift = stext && want !== undefined ? want - stext.addr : info.kernelOffset ?? 0n;
  if (shift !== 0n) for (const s of syms) if (s.type !== 'A' && s.type !== 'a' && s.addr >= 0xffffffff80000000n) s.addr += shift;
  if (stext && want !== undefined && stext.addr !== want) {
    throw dumpError(`${path} does not match the dump's kernel`, 'give the System.map of the kernel that crashed');
  }
  return new SymbolTable(syms);
}
