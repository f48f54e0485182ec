// The crashed kernel's loaded modules as /proc/modules lines, for trace-cmd's MODULES_FILE section.
import type { Kernel } from './kernel.js';

/**
 * "name size - - Live 0xADDR" per module (refcount and dependencies are not read: "-" is what
 * /proc/modules shows for unknown), newest first as there. The text is mem[MOD_TEXT] since 6.4,
 * core_layout before.
 */
export function moduleLines(k: Kernel): string {
  const head = k.syms.get('modules');
  if (!head || !k.btf.hasStruct('module')) return '';
  const lines: string[] = [];
  for (const m of k.listEntries(head.addr, 'module', 'list', 65536)) {
    const mod = k.obj(m, 'module');
    const nameF = k.btf.field('module', 'name');
    const name = k.mem.read(mod.at('name'), nameF.size).toString('latin1').replace(/\0.*$/s, '');
    const text = k.btf.hasField('module', 'mem') ? k.obj(mod.at('mem'), 'module_memory') : k.obj(mod.at('core_layout'), 'module_layout');
    lines.push(`${name} ${text.int('size')} - - Live 0x${text.ptr('base').toString(16).padStart(16, '0')}`);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
