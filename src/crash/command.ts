// Writing a dump's trace out as trace.dat, and the recovery summary as text (for `lkst recover`).
import { shownText } from '../base/text.js';
import { writeTraceDat } from '../file/writer.js';
import { cpuStatsText, cutShortText } from '../trace/loss.js';
import type { TraceBuffer } from '../trace/model.js';
import { traceOfRecovery } from './source.js';
import type { Recovery, RecoverySummary } from './recover.js';

/**
 * Writes the dump's buffers to one trace.dat straight from the dump (the top-level buffer first,
 * instances as named buffers), with the loss counters lkst's files carry.
 */
export async function writeRecovery(rec: Recovery, path: string): Promise<void> {
  const trace = traceOfRecovery(rec, rec.summary.dump);
  const stats = (b: TraceBuffer) => {
    const out: (string | undefined)[] = [];
    for (const c of b.cpus) {
      const k = c.counters;
      // Damage whose size the counters cannot give is written the way a recording cut short is: "at least".
      out[c.cpu] = cpuStatsText(c.statsText ?? '', k.start, k.beforeInPages ?? 0, k.inTransit) + (k.cutShort ? cutShortText(undefined, k.cutShort) : '');
    }
    return out;
  };
  const pages = (b: TraceBuffer) => b.cpus.map((c) => ({ cpu: c.cpu, source: c }));
  const [main, ...rest] = trace.buffers;
  await writeTraceDat(path, { ...trace.meta, cpuStats: stats(main!) }, pages(main!), {
    version: `lkst recover ${rec.summary.osrelease}`,
    buffers: rest.map((b) => ({ name: b.name, clock: b.clock, pageSize: b.pageSize, cpus: pages(b), cpuStats: stats(b) })),
  });
}

/** Event details and warnings are long by nature; only control bytes and runaway text are cut. */
const DETAIL_MAX = 2000;

/** The summary as text for a terminal: every string that came from the dump is escaped. */
export function formatSummary(s: RecoverySummary, output?: string): string {
  const sec = (ts: number | undefined) => (ts === undefined ? '-' : (ts / 1e9).toFixed(6));
  const lines = [
    `dump ${shownText(s.dump)} (${s.format}), kernel ${shownText(s.osrelease)}, KASLR offset 0x${s.kaslrOffset.toString(16)}, ${s.pagingLevels}-level paging`,
  ];
  if (s.panic) lines.push(`panic at ${sec(s.panic.ts)}: ${shownText(s.panic.message)}`);
  for (const b of s.buffers) {
    const total = b.cpus.reduce((n, c) => n + c.events, 0);
    lines.push(`buffer ${shownText(b.name)} (clock ${shownText(b.clock)}, ${b.pageSize}-byte pages): ${total} events`);
    for (const c of b.cpus) {
      lines.push(`  cpu${c.cpu}: ${c.events} events in ${c.pages} pages, ${sec(c.firstTs)} .. ${sec(c.lastTs)}, overrun ${c.overrun}, dropped ${c.dropped}` +
        (c.missingPages ? `, ${c.missingPages} pages missing from the dump` : '') +
        (c.damagedPages ? `, ${c.damagedPages} damaged pages cut or dropped` : '') +
        (c.missingPages || c.damagedPages ? `: ${c.damageLost ?? 'an unknown number of'} events lost with them` : ''));
    }
  }
  for (const b of s.buffers) {
    const last = s.lastEvents.filter((e) => e.buffer === b.name);
    if (!last.length) continue;
    lines.push(`last events of buffer ${shownText(b.name)} before the crash:`);
    for (const e of last) lines.push(`  ${sec(e.ts)} cpu${e.cpu} ${shownText(e.event)}${e.detail ? ` ${shownText(e.detail, DETAIL_MAX)}` : ''}`);
  }
  for (const w of s.warnings) lines.push(`warning: ${shownText(w, DETAIL_MAX)}`);
  lines.push(`recovered in ${s.elapsedMs} ms${output ? `, written to ${output}` : ''}`);
  return lines.join('\n');
}
