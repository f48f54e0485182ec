// Symbols of the loaded modules, read from each struct module's own kallsyms (symtab, strtab, typetab).
import type { KSym } from './kallsyms.js';
import type { Kernel } from './kernel.js';

const ELF64_SYM_SIZE = 24;

export function moduleSymbols(k: Kernel, warnings: string[]): KSym[] {
  const head = k.syms.get('modules');
  if (!head || !k.btf.hasStruct('module')) return [];
  const out: KSym[] = [];
  for (const m of k.listEntries(head.addr, 'module', 'list', 65536)) {
    try {
      const mod = k.obj(m, 'module');
      const nameF = k.btf.field('module', 'name');
      const name = k.mem.read(mod.at('name'), nameF.size).toString('latin1').replace(/\0.*$/s, '');
      const ks = k.obj(mod.ptr('kallsyms'), 'mod_kallsyms');
      const num = ks.int('num_symtab');
      if (num <= 0 || num > 1_000_000) continue;
      const symtab = k.mem.read(ks.ptr('symtab'), num * ELF64_SYM_SIZE);
      const types = k.mem.tryRead(ks.ptr('typetab'), num);
      const strtab = ks.ptr('strtab');
      let strs: Buffer | undefined;
      for (let i = 1; i < num; i++) {
        const nameOff = symtab.readUInt32LE(i * ELF64_SYM_SIZE);
        const value = symtab.readBigUInt64LE(i * ELF64_SYM_SIZE + 8);
        if (value === 0n || nameOff === 0) continue;
        strs ??= k.mem.read(strtab, maxNameEnd(symtab, num) + 256);
        const z = strs.indexOf(0, nameOff);
        const sym = strs.toString('latin1', nameOff, z < 0 ? strs.length : z);
        if (!sym) continue;
        out.push({ addr: value, type: types ? String.fromCharCode(types[i]) : 't', name: sym, module: name });
      }
    } catch (e) {
      warnings.push(`module at 0x${m.toString(16)}: symbols unreadable (${(e as Error).message})`);
    }
  }
  return out;
}

function maxNameEnd(symtab: Buffer, num: number): number {
  let max = 0;
  for (let i = 0; i < num; i++) max = Math.max(max, symtab.readUInt32LE(i * ELF64_SYM_SIZE));
  return max;
}
