/**
 * A boot-persistent instance's last_boot_info, as trace-cmd 3.4 stores it (LAST_BOOT_INFO option:
 * "INSTANCE:" then the file). Linux 6.12 writes "text delta:\tN\ndata delta:\tN": this boot's
 * kernel addresses minus the previous boot's (KASLR moves the kernel each boot). The file's kallsyms
 * is the reading boot's, so the previous boot's addresses are found at kallsyms - delta.
 */

export interface LastBootDeltas {
  instance: string;
  text: bigint;
  data: bigint;
}

/** The deltas of a LAST_BOOT_INFO text, or undefined when it names none (another layout). */
export function parseLastBootInfo(option: string): LastBootDeltas | undefined {
  const colon = option.indexOf(':');
  const instance = colon < 0 ? '' : option.slice(0, colon);
  const body = colon < 0 ? option : option.slice(colon + 1);
  const text = /^text delta:\s*(-?\d+)\s*$/m.exec(body);
  const data = /^data delta:\s*(-?\d+)\s*$/m.exec(body);
  if (!text) return undefined;
  const t = BigInt(text[1]!);
  return { instance, text: t, data: data ? BigInt(data[1]!) : t };
}

/** Lowest address of the kernel image (x86_64's __START_KERNEL_map): per-CPU offsets and absolutes stay. */
const KERNEL_MAP = 0xffffffff80000000n;

/**
 * kallsyms with the core kernel's symbols moved to where they were in the previous boot. Module
 * lines (with "\t[module]") stay: 6.12's last_boot_info does not say where modules were.
 */
export function shiftKallsyms(text: string, d: LastBootDeltas): string {
  if (d.text === 0n && d.data === 0n) return text;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp !== 16 || line.includes('\t[')) { out.push(line); continue; }
    const addr = BigInt(`0x${line.slice(0, 16)}`);
    if (addr < KERNEL_MAP) { out.push(line); continue; }
    const type = line[17];
    const moved = addr - (type === 't' || type === 'T' ? d.text : d.data);
    out.push(BigInt.asUintN(64, moved).toString(16).padStart(16, '0') + line.slice(16));
  }
  return out.join('\n');
}
