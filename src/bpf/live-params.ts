/**
 * `lkst handler set` on a running recording's handlers on BPF: the parameter that lives in a map
 * (a pid set, of `pid engine=bpf` or `route`) is rewritten at once by the runner, through the same
 * control FIFO a table switch uses. Anything compiled into the program is refused in one line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import type { BpfEntry, LiveUnits } from './engine.js';
import { liveCommand, liveCountsDir } from './live-counts.js';

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

/**
 * Sets the pid sets of a running recording's units on the entries' tracepoints (entries: the new
 * entry compiled, one per tracepoint; maskset: the index of the maskset it belongs to). Returns
 * one line per map written, with the time its update took.
 */
export async function setLivePids(instance: string, units: LiveUnits, entries: readonly BpfEntry[], maskset: number): Promise<string[]> {
  const out: string[] = [];
  for (const e of entries) {
    const extra = Object.keys(e.params).find((k) => !SLOT_PARAMS.has(k));
    const pids = e.params['pids'];
    if (extra || !Array.isArray(pids)) {
      throw new LkstError(`${e.tp}: a running recording's handlers on BPF change only their pid sets live (pid engine=bpf, route), and ${e.handler} ${extra ?? ''} is compiled into the program`, 'record again with the changed maskset');
    }
    const buffer = e.handler === 'route' ? String(e.params['buffer']) : undefined;
    const slot = units.slots.find((s) => s.tp === e.tp && s.maskset === maskset && s.buffer === buffer);
    if (!slot) throw new LkstError(`${e.tp} has no ${buffer ? `route to ${buffer}` : 'pid set'} on BPF in the running recording`, 'set the handler the recording started with (its maskset line), or record again');
    const text = await liveCommand(instance, `pids ${slot.map} ${(pids as number[]).join(' ')}`);
    const m = /^ok pids \S+ window_ns (\d+)/.exec(text);
    if (!m) throw new LkstError(`the BPF handlers of ${instance} did not take the pid set (${text || 'no answer from lkst-bpf-run'})`, '`lkst status` shows whether the recording still runs');
    out.push(`${e.tp}: ${buffer ? `route to ${buffer}` : 'pid set'} now ${(pids as number[]).join(',')} (one map update in ${(Number(m[1]) / 1000).toFixed(1)} us)`);
  }
  return out;
}
