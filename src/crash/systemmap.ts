// A System.map (or /proc/kallsyms text) as the symbol table, shifted by the dump's KASLR offset.
import { LkstError } from '../base/errors.js';
import { readRegularFile } from '../base/input-file.js';
import { dumpError } from './errors.js';
import { SymbolTable, type KSym } from './kallsyms.js';
import type { VmcoreInfo } from './vmcoreinfo.js';

export function loadSystemMap(path: string, info: VmcoreInfo): SymbolTable {
  let text: string;
  try {
    text = readRegularFile(path, 'the System.map of the crashed kernel').toString('latin1');
  } catch (e) {
    if (e instanceof LkstError) throw e;
    throw dumpError(`cannot read system map ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the --system-map path');
  }
  const syms: KSym[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) (\S) (\S+)/.exec(line);
    if (m) syms.push({ addr: BigInt('0x' + m[1]), type: m[2], name: m[3] });
  }
  if (syms.length === 0) throw dumpError(`${path} holds no symbols`, 'give the System.map file of the crashed kernel');
  return relocatedTable(syms, info, path);
}

/** Shifts link-time kernel symbols by the dump's KASLR offset, checked against VMCOREINFO's _stext. */
export function relocatedTable(syms: KSym[], info: VmcoreInfo, path: string): SymbolTable {
  // A System.map has link-time addresses; relocate them unless they already match the dump.
  const stext = syms.find((s) => s.name === '_stext');
  const want = info.symbols.get('_stext');
  const shift = stext && want !== undefined ? want - stext.addr : info.kernelOffset ?? 0n;
  if (shift !== 0n) for (const s of syms) if (s.type !== 'A' && s.type !== 'a' && s.addr >= 0xffffffff80000000n) s.addr += shift;
  // An independent check: another symbol that VMCOREINFO names must land on the same address.
  const table = new SymbolTable(syms);
  for (const name of ['init_uts_ns', 'swapper_pg_dir', 'init_top_pgt']) {
    const got = table.get(name)?.addr;
    const exp = info.symbols.get(name);
    if (got !== undefined && exp !== undefined && got !== exp) {
      throw dumpError(`${path} does not match the dump's kernel (${name} differs)`, 'give the symbols of the kernel that crashed');
    }
  }
  return table;
}
