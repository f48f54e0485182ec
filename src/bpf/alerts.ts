/**
 * Alerts of running recordings (`alert` handlers on BPF), for `lkst watch`: lkst-bpf-run appends
 * each as a line "alert UNIT TS CPU RECORDHEX" to alerts in the recording's live directory, and
 * units.json says which tracepoint each alert unit is on, so the record decodes with its format.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LkstError } from '../base/errors.js';
import { stateDir } from '../base/config.js';
import { readLiveFormat } from '../events/live.js';
import { splitTracepointId } from '../events/resolve.js';
import type { EventFormat } from '../events/format.js';
import { readFields } from '../ringbuf/fields.js';
import { liveCountsDir } from './live-counts.js';
import { liveUnits } from './live-params.js';
import type { AlertUnit } from './codegen.js';

export interface Alert {
  /** The event, system:event. */
  event: string;
  /** bpf_ktime_get_ns: the `mono` trace clock of the recording. */
  ts: bigint;
  cpu: number;
  pid: number;
  /** The event's fields (dynamic strings are not copied: ''). */
  fields: Record<string, string>;
}

/** Instances whose running recording has alert handlers. */
export function alertingRecordings(): string[] {
  const root = join(stateDir(), 'bpf');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .filter((i) => (liveUnits(i)?.alerts.length ?? 0) > 0);
}

/** Waits up to waitMs for one recording with alert handlers (or the named one) and returns its instance. */
export async function alertSource(instance: string | undefined, waitMs: number): Promise<string> {
  for (let waited = 0; ; waited += 100) {
    const found = alertingRecordings().filter((i) => !instance || i === instance);
    if (found.length > 1) throw new LkstError(`recordings with alert handlers run in ${found.join(', ')}`, 'name one with --instance');
    if (found.length === 1) return found[0]!;
    if (waited >= waitMs) throw new LkstError(instance ? `no recording with alert handlers runs in ${instance}` : 'no recording with alert handlers runs', 'start one (`lkst record -m MASKSET` with an `alert` line), or give --wait SECONDS');
    await sleep(100);
  }
}

function text(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** Decodes alerts: each unit's tracepoint and notes (units.json), the formats read from the kernel once. */
export class AlertDecoder {
  private readonly unitTp: Map<number, string>;
  private readonly unitNotes: Map<number, readonly string[]>;
  private readonly formats = new Map<string, EventFormat>();

  constructor(readonly units: readonly AlertUnit[]) {
    this.unitTp = new Map(units.map((a) => [a.unit, a.tp]));
    this.unitNotes = new Map(units.flatMap((a) => (a.notes ? [[a.unit, a.notes] as const] : [])));
  }

  /** One alert line decoded; undefined for a line that is not whole. */
  line(line: string): Alert | undefined {
    const m = /^alert (\d+) (\d+) (\d+) ([0-9a-f]+)$/.exec(line);
    return m ? this.decode(Number(m[1]), BigInt(m[2]!), Number(m[3]), Buffer.from(m[4]!, 'hex')) : undefined;
  }

  /** An alert of a unit: the event's record, then a user handler's notes (u64 each). */
  decode(unit: number, ts: bigint, cpu: number, data: Buffer): Alert | undefined {
    const tp = this.unitTp.get(unit);
    if (!tp) return undefined;
    let f = this.formats.get(tp);
    if (!f) {
      const { system, event } = splitTracepointId(tp);
      f = readLiveFormat(system, event);
      this.formats.set(tp, f);
    }
    const fields: Record<string, string> = {};
    const notes = this.unitNotes.get(unit) ?? [];
    const end = data.length - 8 * notes.length;
    for (const [k, v] of Object.entries(readFields(data, 0, end, f))) fields[k] = text(v);
    notes.forEach((n, i) => (fields[n] = `0x${data.readBigUInt64LE(end + 8 * i).toString(16)}`));
    return { event: tp, ts, cpu, pid: data.length >= 8 ? data.readInt32LE(4) : 0, fields };
  }
}

/**
 * Follows a running recording's alerts from its start, calling onAlert for each in order, until
 * the recording ends or max alerts were seen. Returns how many were seen.
 */
export async function followAlerts(instance: string, onAlert: (a: Alert) => void | Promise<void>, opts: { max?: number } = {}): Promise<number> {
  const dir = liveCountsDir(instance);
  const decoder = new AlertDecoder(liveUnits(instance)?.alerts ?? []);
  const file = join(dir, 'alerts');
  let seen = 0;
  let partial = '';
  // Kept open: the runner closes the file before the recording removes it, so a last read after the
  // end still gets the alerts raised while the recording drained.
  let fd: number | undefined;
  const buf = Buffer.alloc(1 << 16);
  try {
    for (;;) {
      const running = existsSync(join(dir, 'units.json'));
      if (fd === undefined) {
        try {
          fd = openSync(file, 'r');
        } catch {
          /* not made yet, or the recording is gone */
        }
      }
      if (fd !== undefined) for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) partial += buf.toString('utf8', 0, n);
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        const a = decoder.line(l);
        if (!a) continue;
        await onAlert(a);
        if (++seen === opts.max) return seen;
      }
      if (!running) return seen;
      await sleep(100);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
