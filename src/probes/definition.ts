/**
 * A probe event's definition as the kernel keeps it (uprobe_events, kprobe_events): where it is
 * and what it fetches, exactly as it was accepted. The BPF engine attaches its programs from this,
 * so they go where the ftrace probe of the same spec goes and fetch the same arguments.
 */
import { type TracefsDir, tracefs } from '../tracefs/tracefs.js';

export interface ProbeDefinition {
  kind: 'uprobe' | 'uretprobe' | 'kprobe' | 'kretprobe';
  /** uprobes: the file (its real path); kprobes: [MOD:]SYMBOL. */
  target: string;
  /** uprobes: the offset in the file; kprobes: the offset from the symbol. */
  offset: bigint;
  /** NAME=FETCH[:TYPE] words, as the kernel lists them. */
  args: string[];
}

const LINE_RE = /^([pr])\d*:([^/\s]+)\/(\S+)\s+(\S+)(.*)$/;

/** The definition of the probe event system:event, when it is a uprobe or kprobe; undefined otherwise. */
export function probeDefinition(system: string, event: string, top: TracefsDir = tracefs()): ProbeDefinition | undefined {
  for (const [file, family] of [['uprobe_events', 'u'], ['kprobe_events', 'k']] as const) {
    if (!top.has(file)) continue;
    for (const line of top.read(file).split('\n')) {
      const m = LINE_RE.exec(line.trim());
      if (!m || m[2] !== system || m[3] !== event) continue;
      const kind = `${family}${m[1] === 'p' ? '' : 'ret'}probe` as ProbeDefinition['kind'];
      const args = m[5]!.trim().split(/\s+/).filter(Boolean);
      // uprobes: PATH:0xOFFSET, maybe followed by (0xREFCTR); kprobes: [MOD:]SYM[+OFF] or an address.
      const loc = m[4]!.replace(/\(0x[0-9a-f]+\)$/i, '');
      if (family === 'u') {
        const at = loc.lastIndexOf(':');
        return { kind, target: loc.slice(0, at), offset: BigInt(loc.slice(at + 1)), args };
      }
      const k = /^(.*?)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(loc)!;
      return { kind, target: k[1]!, offset: BigInt(k[2] ?? 0), args };
    }
  }
  return undefined;
}
