/**
 * The BPF engine as a recording's companion: the recorder starts it once the maskset is applied
 * (entries() then says which handlers run on BPF) and finishes it once tracing stops; its records
 * join the trace as the buffer `bpf`, its count tables as the trace's LKST_COUNTS.
 */
import { LkstError } from '../base/errors.js';
import type { CompanionResult, RecordCompanion } from '../record/recorder.js';
import { renderCounts } from './counts.js';
import { BpfEngine, type BpfEntry } from './engine.js';
import { MISSED_WHY } from './record-stream.js';
import { grouped } from '../base/grouped.js';
import { alertFormats } from './alert-trace.js';

/** Rows of each count table in a recording's summary (`lkst stats` shows them all). */
const SUMMARY_ROWS = 10;

/** table: once the maskset is applied, the entries on BPF and the masksets of the table by index. */
export function bpfCompanion(table: () => { entries: readonly BpfEntry[]; masksets: readonly string[] }): RecordCompanion {
  let engine: BpfEngine | undefined;
  return {
    async start(inst, ctx) {
      const { entries: list, masksets } = table();
      if (!list.length) return;
      if (ctx.live) throw new LkstError(`${list[0]!.from}: handlers on BPF record into a trace file`, 'use `lkst record -o FILE` for this maskset');
      engine = await BpfEngine.start(list, { workDir: ctx.workDir, instance: inst.name, masksets, skipTgids: [process.pid, ...ctx.ownTasks] });
    },
    async finish(pageSize): Promise<CompanionResult | undefined> {
      if (!engine) return undefined;
      const e = engine;
      const r = await e.finish(pageSize);
      const all = [...r.buffers, ...(r.alertBuffer ? [r.alertBuffer] : [])];
      const m = r.missed;
      const perCpu = [...m.perCpu].sort((a, b) => a[0] - b[0]).map(([cpu, n]) => `CPU ${cpu}: ${grouped(n)}`);
      const where = [...perCpu, ...(m.unknown ? [`${grouped(m.unknown)} ${MISSED_WHY}, CPU not known`] : [])].join(', ');
      const summary = [
        ...r.buffers.map((b) => {
          const why = [...(b.lost ? [`${grouped(b.lost)}: the BPF ring buffer was full`] : []), ...(b.missed ? [`${grouped(b.missed)}: the kernel's recursion guard, below`] : [])];
          return `BPF records: ${grouped(b.records)} in buffer ${b.buffer.name}, ${why.length ? `${grouped(b.lost + (b.missed ?? 0))} LOST (${why.join('; ')})` : 'none lost'}`;
        }),
        ...(r.alerts
          ? [`BPF alerts: ${grouped(r.alerts.raised)}${r.alerts.raised ? ' (lkst/alert events in buffer alerts)' : ''}${r.alerts.lost ? `, ${grouped(r.alerts.lost)} LOST (the alert ring was full)` : ''}${r.alerts.unshown ? `, ${grouped(r.alerts.unshown)} not shown to lkst watch (its file reached 64 MiB)` : ''}${m.total ? `; uncertain: ${grouped(m.total)} events never reached their handlers (below), so an alert may be missing or raised on incomplete state` : ''}`]
          : []),
        ...(m.total
          ? [`BPF handlers: ${grouped(m.total)} events LOST, never handled (the kernel's recursion guard skipped their programs: ${m.programs.map((p) => `${p.program} ${grouped(p.count)}`).join(', ')}): ${where}`]
          : []),
        ...(r.counts ? renderCounts(r.counts, SUMMARY_ROWS) : []),
      ];
      return {
        buffers: all.map((b) => b.buffer),
        ...(r.counts ? { meta: { counts: JSON.stringify(r.counts) } } : {}),
        ...(r.alertBuffer || r.formats.length ? { formats: [...(r.alertBuffer ? alertFormats() : []), ...r.formats] } : {}),
        lost: all.reduce((x, b) => x + b.lost, 0) + m.total,
        records: r.buffers.reduce((x, b) => x + b.records, 0),
        summary,
        discard: () => e.discard(),
      };
    },
    abort() {
      engine?.discard();
    },
  };
}
