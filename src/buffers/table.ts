import type { BufferStatus } from './status.js';

function kib(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)}M` : `${Math.round(bytes / 1024)}K`;
}

function pids(s: BufferStatus): string {
  const parts: string[] = [];
  if (s.pids.pids.length) parts.push(`only ${s.pids.pids.join(',')}`);
  if (s.pids.notPids.length) parts.push(`not ${s.pids.notPids.join(',')}`);
  if (parts.length && s.pids.follow) parts.push('+children');
  return parts.join(' ') || 'all';
}

function align(rows: string[][], indent = ''): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}

/**
 * `lkst buffer list`: one line per buffer, then its CPUs as the kernel counts them. notes: a word
 * after a buffer's name, by instance (`lkst status` says which one the armed trace records into).
 */
export function formatBufferTable(list: readonly BufferStatus[], opts: { armedInstance?: string; notes?: ReadonlyMap<string, string> } = {}): string {
  if (!list.length) return 'no buffers (create one with `lkst buffer create NAME`)';
  const out: string[] = [];
  for (const s of list) {
    const note = opts.notes?.get(s.instance) ?? (s.instance === opts.armedInstance ? 'the armed trace' : undefined);
    out.push(
      `${s.name}${note ? ` (${note})` : ''}: ${s.recording ? 'recording' : 'stopped'}, ${s.overwrite ? 'overwrite (flight recorder)' : 'stop when full'}, ${s.sizeKb} KiB per CPU, ` +
        `${s.events.length} events, processes: ${pids(s)}, clock ${s.clock}`,
    );
    const rows = [['cpu', 'size', 'used', 'entries', 'overrun', 'dropped', 'oldest event']];
    for (const c of s.cpus) {
      rows.push([String(c.cpu), `${c.sizeKb}K`, kib(c.bytes), String(c.entries), String(c.overrun), String(c.droppedEvents), c.entries ? c.oldestEventTs.toFixed(6) : '-']);
    }
    out.push(...align(rows, '  '));
  }
  return out.join('\n');
}
