/**
 * Intervals the analyses time from an entry and an exit tracepoint (catalog's INTERVAL_EXITS, and
 * x86's irq_vectors:X_entry/X_exit): which exits a trace lacks, said as what to record.
 */
import { INTERVAL_EXITS } from '../events/catalog.js';
import type { EventRegistry } from '../events/registry.js';

const split = (id: string): [string, string] => id.split(':') as [string, string];

/** Whether the trace holds the exit that closes this entry tracepoint (true for an entry without one). */
export function exitTraced(reg: EventRegistry, entry: string): boolean {
  const exit = exitOf(entry);
  return !exit || !!reg.find(...split(exit));
}

function exitOf(entry: string): string | undefined {
  const m = /^irq_vectors:(.*)_entry$/.exec(entry);
  return m ? `irq_vectors:${m[1]}_exit` : INTERVAL_EXITS[entry];
}

/** The entries the IRQ and softirq times (latency, stats, state's "in interrupt") come from. */
export const timesIrq = (entry: string): boolean => entry === 'irq:irq_handler_entry' || entry === 'irq:softirq_entry' || /^irq_vectors:.*_entry$/.test(entry);

/**
 * One line per entry the trace holds without its exit, among those an analysis times (`times`):
 * the event to add and the -e that records it.
 */
export function missingExitLines(reg: EventRegistry, times: (entry: string) => boolean): string[] {
  const out: string[] = [];
  for (const fmt of reg.identities()) {
    const entry = `${fmt.system}:${fmt.name}`;
    if (!times(entry)) continue;
    const exit = exitOf(entry);
    if (exit && !reg.find(...split(exit))) out.push(`${entry} is traced without ${exit}: its times are unknown; record it too with -e ${exit}`);
  }
  return out;
}
