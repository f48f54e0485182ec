import { describeMachine } from '../machine.js';
import type { BenchReport, ConditionResult } from '../report.js';
import { label, num } from './cells.js';

const COLORS: Record<ConditionResult['kind'], string> = { none: '#8c8c8c', lkst: '#2f6db5', 'trace-cmd': '#d9822b' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Bar chart in the manner of the seed's slides: per workload, each condition's headline figure as a
 * percentage of the untraced run (100 = no cost), with the min–max spread as a whisker.
 */
export function renderSvg(r: BenchReport): string {
  const W = 820;
  const left = 290;
  const right = 110;
  const barH = 20;
  const gap = 8;
  const parts: string[] = [];
  let y = 72;
  for (const w of r.results) {
    const primary = w.metrics[0]!;
    const base = w.conditions.find((c) => c.kind === 'none')?.metrics[primary.key]?.median ?? NaN;
    // Relative performance: for times base/value, for throughputs value/base; 100% = as fast as untraced.
    const rel = (v: number) => (primary.higherIsBetter ? v / base : base / v) * 100;
    const vals = w.conditions.map((c) => {
      const s = c.metrics[primary.key]!;
      return { c, mid: rel(s.median), lo: rel(primary.higherIsBetter ? s.min : s.max), hi: rel(primary.higherIsBetter ? s.max : s.min) };
    });
    const maxPct = Math.max(110, ...vals.map((v) => (Number.isFinite(v.hi) ? v.hi : 0)));
    const scale = (W - left - right - 60) / maxPct;
    parts.push(`<text x="16" y="${y}" font-size="15" font-weight="bold">${esc(`${w.workload}: ${primary.label}, % of untraced (higher is better)`)}</text>`);
    parts.push(`<text x="16" y="${y + 17}" font-size="11" fill="#555">${esc(w.description)}</text>`);
    y += 28;
    const top = y;
    for (const v of vals) {
      const width = Number.isFinite(v.mid) ? Math.max(0, v.mid * scale) : 0;
      parts.push(`<text x="${left - 8}" y="${y + barH - 6}" font-size="12" text-anchor="end">${esc(label(v.c))}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${width.toFixed(1)}" height="${barH}" fill="${COLORS[v.c.kind]}"/>`);
      if (Number.isFinite(v.lo) && Number.isFinite(v.hi) && v.c.metrics[primary.key]!.n > 1)
        parts.push(`<line x1="${(left + v.lo * scale).toFixed(1)}" x2="${(left + v.hi * scale).toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#555" stroke-width="1.2"/>`);
      const text = `${num(v.mid, 1)}%  (${num(v.c.metrics[primary.key]!.median)} ${primary.unit})`;
      const end = Math.max(width, Number.isFinite(v.hi) && v.c.metrics[primary.key]!.n > 1 ? v.hi * scale : 0);
      parts.push(`<text x="${(left + end + 6).toFixed(1)}" y="${y + barH - 6}" font-size="11">${esc(text)}</text>`);
      y += barH + gap;
    }
    const x100 = left + 100 * scale;
    parts.push(`<line x1="${x100.toFixed(1)}" x2="${x100.toFixed(1)}" y1="${top - 4}" y2="${y - gap + 4}" stroke="#000" stroke-dasharray="4 3"/>`);
    y += 26;
  }
  const H = y + 10;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n` +
    `<rect width="${W}" height="${H}" fill="#fff"/>\n` +
    `<text x="16" y="26" font-size="18" font-weight="bold">lkst bench: what tracing costs</text>\n` +
    `<text x="16" y="42" font-size="11" fill="#555">${esc(describeMachine(r.machine))}; ${r.settings.runs} runs, medians, whiskers min–max</text>\n` +
    parts.join('\n') +
    '\n</svg>\n'
  );
}
