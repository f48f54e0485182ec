import { describeMachine } from '../machine.js';
import type { BenchReport } from '../report.js';
import { selfFilterText, workloadRows } from './cells.js';

/** The terminal table: one block per workload, numbers right-aligned. */
export function renderTable(r: BenchReport): string {
  const out = [`lkst bench on ${describeMachine(r.machine)}; ${r.settings.runs} runs per condition (interleaved${r.settings.warmup ? ', after a warm-up round' : ''}), ${r.settings.bufferKbPerCpu} KB/CPU buffers, ${r.elapsedSec.toFixed(0)} s`];
  for (const w of r.results) {
    const rows = workloadRows(w);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    out.push('', `${w.workload}: ${w.description}`);
    for (const row of rows) out.push(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  }
  const self = selfFilterText(r);
  if (self) out.push('', self);
  return out.join('\n') + '\n';
}
