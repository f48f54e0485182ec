/**
 * What `lkst state` needs of the whole trace before it replays to a moment: the first and last
 * event times (to check --at) and every loss (a loss straddling the moment is only met after it).
 * One pass builds it; it is kept as JSON in the trace's cache directory.
 */
import { readFileSync, renameSync as renameInto, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachEvent } from '../stream.js';
import type { TraceInput } from '../input.js';
import { LossLog, type Loss } from '../losses.js';
import { openCacheDir, selectionFile } from './location.js';

export interface TraceSummary {
  /** Times of the first and last record (NaN for an empty trace). */
  first: number;
  last: number;
  events: number;
  losses: LossLog;
}

interface Stored {
  first: number | null;
  last: number | null;
  events: number;
  /** `to` null: Infinity (JSON has none). */
  losses: (Omit<Loss, 'to'> & { to: number | null })[];
}

function scan(input: TraceInput): TraceSummary {
  const losses = new LossLog();
  let first = Number.NaN;
  let last = Number.NaN;
  const events = forEachEvent(input, {
    event: (ev) => {
      if (Number.isNaN(first)) first = ev.ts;
      last = ev.ts;
      losses.seen(ev.cpu, ev.ts, ev.buffer);
    },
    lost: (cpu, ts, count, buffer) => losses.lost(cpu, ts, count, buffer),
    // Overwritten before the recording: the CPU's history before ts is gone all the same.
    lostBefore: (cpu, ts, count, buffer) => losses.lost(cpu, ts, count, buffer),
    done: (loss) => losses.settle(loss),
  });
  return { first, last, events, losses };
}

/** The same log again: each loss's gap start is given by a `seen` just before it. */
function rebuild(list: Stored['losses']): LossLog {
  const log = new LossLog();
  for (const l of list) {
    log.seen(l.cpu, l.from, l.buffer);
    log.lost(l.cpu, l.to ?? Infinity, l.count, l.buffer);
  }
  return log;
}

/** The trace's summary, from its cache when one is current (built and stored otherwise); `cache: false` always scans. */
export function traceSummary(input: TraceInput, opts: { cache?: boolean } = {}): TraceSummary {
  const dir = opts.cache === false ? undefined : openCacheDir(input.path);
  if (!dir) return scan(input);
  const file = join(dir, selectionFile('summary', input.buffers, 'json'));
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Stored;
    return { first: s.first ?? Number.NaN, last: s.last ?? Number.NaN, events: s.events, losses: rebuild(s.losses) };
  } catch {
    // Not built yet (or unreadable): scanned and stored below.
  }
  const sum = scan(input);
  const stored: Stored = { first: sum.first, last: sum.last, events: sum.events, losses: sum.losses.all.map((l) => ({ ...l, to: Number.isFinite(l.to) ? l.to : null })) };
  try {
    writeFileSync(file + '.tmp', JSON.stringify(stored));
    // Renamed into place so a reader never sees half a file.
    renameInto(file + '.tmp', file);
  } catch {
    // A cache that cannot be written only costs the next run a pass.
  }
  return sum;
}
