/**
 * `lkst handler set` on a running recording's handlers on BPF: what lives in a map is rewritten at
 * once by the runner, through the same control FIFO a table switch uses: a pid set (`pid
 * engine=bpf`, `route`) or a user handler's parameters. Anything compiled into the program is
 * refused in one line. Each change is marked in the trace (a trace_marker into the recording's
 * instance) with the monotonic time of the map write, the clock of the handlers' records, so a
 * reader knows from which record on the new value held.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { Instance } from '../tracefs/instance.js';
import type { BpfEntry, LiveUnits } from './engine.js';
import { liveCommand, liveCountsDir } from './live-counts.js';
import { paramWord } from './user-handlers.js';

/** What the recording in an instance holds on BPF, if one runs there. */
export function liveUnits(instance: string): LiveUnits | undefined {
  try {
    return JSON.parse(readFileSync(join(liveCountsDir(instance), 'units.json'), 'utf8')) as LiveUnits;
  } catch {
    return undefined;
  }
}

/** Parameters a pid set carries; any other means a different program. */
const SLOT_PARAMS = new Set(['pids', 'follow', 'buffer']);

/** The map command that sets one entry's live part, and what it sets (for the answer and the marker). */
function mapCommand(units: LiveUnits, e: BpfEntry, maskset: number): { line: string; what: string } {
  if (e.handler === 'user') {
    const name = String(e.params['name']);
    const slot = units.params?.find((s) => s.tp === e.tp && s.maskset === maskset && s.handler === name);
    if (!slot) throw new LkstError(`${e.tp} has no handler ${name} with parameters on BPF in the running recording`, 'set the handler the recording started with (its maskset line), or record again');
    const values = slot.names.map((p) => paramWord(e.params[p]));
    return { line: `params ${slot.map} ${values.join(' ')}`, what: `${name} ${slot.names.map((p, i) => `${p}=${values[i]}`).join(' ')}` };
  }
  const extra = Object.keys(e.params).find((k) => !SLOT_PARAMS.has(k));
  const pids = e.params['pids'];
  if (extra || !Array.isArray(pids)) {
    throw new LkstError(`${e.tp}: a running recording's handlers on BPF change only their pid sets live (and BPF C handlers' parameters), and ${e.handler} ${extra ?? ''} is compiled into the program`, 'record again with the changed maskset');
  }
  const buffer = e.handler === 'route' ? String(e.params['buffer']) : undefined;
  const slot = units.slots.find((s) => s.tp === e.tp && s.maskset === maskset && s.buffer === buffer);
  if (!slot) throw new LkstError(`${e.tp} has no ${buffer ? `route to ${buffer}` : 'pid set'} on BPF in the running recording`, 'set the handler the recording started with (its maskset line), or record again');
  return { line: `pids ${slot.map} ${(pids as number[]).join(' ')}`, what: `${buffer ? `route to ${buffer}` : 'pid set'} now ${(pids as number[]).join(',')}` };
}

/**
 * Sets the live part of a running recording's units on the entries' tracepoints (entries: the new
 * entry compiled, one per tracepoint; maskset: the index of the maskset it belongs to). Returns one
 * line per map written, with the time its update took.
 */
export async function setLiveMaps(instance: string, units: LiveUnits, entries: readonly BpfEntry[], maskset: number): Promise<string[]> {
  const out: string[] = [];
  const planned = entries.map((e) => ({ e, ...mapCommand(units, e, maskset) }));
  for (const { e, line, what } of planned) {
    const text = await liveCommand(instance, line);
    const m = /^ok \S+ \S+ window_ns (\d+)(?: at_ns (\d+) (\d+))?/.exec(text);
    if (!m) throw new LkstError(`the BPF handlers of ${instance} did not take the change (${text || 'no answer from lkst-bpf-run'})`, '`lkst status` shows whether the recording still runs');
    const at = m[2] ? ` at mono ${m[2]}..${m[3]} ns` : '';
    markChange(instance, `lkst: handler set ${e.tp} ${what} (map written${at})`);
    out.push(`${e.tp}: ${what} (one map update in ${(Number(m[1]) / 1000).toFixed(1)} us)`);
  }
  return out;
}

/** The marker of a live change; a recording whose instance is gone has nothing to mark. */
function markChange(instance: string, text: string): void {
  if (Instance.exists(instance)) Instance.open(instance).mark(text);
}
