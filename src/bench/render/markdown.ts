import { describeMachine } from '../machine.js';
import type { BenchReport } from '../report.js';
import { selfFilterText, workloadRows } from './cells.js';

function escapeCell(cell: string): string {
  return cell.replace(/\|/g, '\\|');
}

export function renderMarkdown(r: BenchReport): string {
  const out = [
    '# lkst bench',
    '',
    `Machine: ${describeMachine(r.machine)}. ${r.settings.runs} runs per condition, interleaved${r.settings.warmup ? ' after a warm-up round' : ''}; ` +
      `ring buffers ${r.settings.bufferKbPerCpu} KB per CPU; medians, min–max over the runs; overhead relative to no tracing ` +
      `("noise": within the spread of the untraced runs). Took ${r.elapsedSec.toFixed(0)} s on ${r.startedAt.slice(0, 10)}.`,
  ];
  for (const w of r.results) {
    const rows = workloadRows(w);
    out.push('', `## ${w.workload}`, '', w.description, '');
    out.push(`| ${rows[0]!.map(escapeCell).join(' | ')} |`);
    out.push(`|${rows[0]!.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of rows.slice(1)) out.push(`| ${row.map(escapeCell).join(' | ')} |`);
  }
  const self = selfFilterText(r);
  if (self) out.push('', self);
  return out.join('\n') + '\n';
}
