/**
 * What `lkst state` needs of the whole trace before it replays to a moment: the first and last
 * event times (to check --at), every loss (a loss straddling the moment is only met after it),
 * and checkpoints of the replay to start from (checkpoints.ts). One pass builds them all; the
 * summary is kept as JSON in the trace's cache directory, each checkpoint in a file of its own.
 */
import { readFileSync, renameSync as renameInto, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachEvent, type StreamVisitor } from '../stream.js';
import { inputStreams, type TraceInput } from '../input.js';
import { LossLog, type Loss } from '../losses.js';
import type { PassCheckpoint } from '../pass.js';
import { statePass } from '../state.js';
import { openCacheDir, selectionFile } from './location.js';
import { checkpointBefore, checkpointEvery, checkpointWriter, type CheckpointRef } from './checkpoints.js';

export interface TraceSummary {
  /** Times of the first and last record (NaN for an empty trace). */
  first: number;
  last: number;
  events: number;
  losses: LossLog;
  /** The replay's checkpoints (none without a cache). */
  checkpoints: CheckpointRef[];
  /** The cache directory they are in. */
  dir?: string;
}

interface Stored {
  first: number | null;
  last: number | null;
  events: number;
  /** `to` null: Infinity (JSON has none). */
  losses: (Omit<Loss, 'to'> & { to: number | null })[];
  checkpoints: CheckpointRef[];
}

/** Feeds a loss log from a walk, so each loss knows where its gap began. */
function lossVisitor(losses: LossLog): Required<Omit<StreamVisitor, 'event'>> & { event: StreamVisitor['event'] } {
  return {
    event: (ev) => losses.seen(ev.cpu, ev.ts, ev.buffer),
    lost: (cpu, ts, count, buffer) => losses.lost(cpu, ts, count, buffer),
    // Overwritten before the recording: the CPU's history before ts is gone all the same.
    lostBefore: (cpu, ts, count, buffer) => losses.lost(cpu, ts, count, buffer),
    done: (loss) => losses.settle(loss),
  };
}

/** The quick scan: times, count and losses, no fields decoded. */
function scan(input: TraceInput): TraceSummary {
  const losses = new LossLog();
  let first = Number.NaN;
  let last = Number.NaN;
  const feed = lossVisitor(losses);
  const events = forEachEvent(input, {
    ...feed,
    event: (ev) => {
      if (Number.isNaN(first)) first = ev.ts;
      last = ev.ts;
      feed.event(ev);
    },
  });
  return { first, last, events, losses, checkpoints: [] };
}

/** The state replay over the whole trace, checkpointed into dir, gathering the summary as it goes. */
function scanWithCheckpoints(input: TraceInput, dir: string, every: number): TraceSummary {
  const losses = new LossLog();
  // The timers read the losses only for a result, by when the pass has filled the log.
  const { pass } = statePass(input, losses);
  // Added last: a checkpoint's analyses are loaded by position into statePass's.
  pass.add(lossVisitor(losses));
  const out = checkpointWriter(dir, selectionFile('state', input.buffers, 'cp').replace(/\.cp$/, ''));
  pass.run({ checkpoints: { every, take: out.take } });
  return { first: pass.first, last: pass.last, events: pass.events, losses, checkpoints: out.refs, dir };
}

/** The same log again, each loss as it was settled. */
function rebuild(list: Stored['losses']): LossLog {
  return LossLog.restore(list.map((l) => ({ ...l, to: l.to ?? Infinity })));
}

/**
 * The trace's summary, from its cache when one is current (built and stored otherwise, with a
 * checkpoint every `every` records, by default by the trace's size); `cache: false` always scans.
 */
export function traceSummary(input: TraceInput, opts: { cache?: boolean; every?: number } = {}): TraceSummary {
  const dir = opts.cache === false ? undefined : openCacheDir(input.path);
  if (!dir) return scan(input);
  const file = join(dir, selectionFile('summary', input.buffers, 'json'));
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Stored;
    return { first: s.first ?? Number.NaN, last: s.last ?? Number.NaN, events: s.events, losses: rebuild(s.losses), checkpoints: s.checkpoints ?? [], dir };
  } catch {
    // Not built yet (or unreadable): scanned and stored below.
  }
  let sum: TraceSummary;
  try {
    sum = scanWithCheckpoints(input, dir, opts.every ?? checkpointEvery(inputStreams(input).reduce((n, s) => n + s.stream.size, 0)));
  } catch {
    // A checkpoint that cannot be written (disk full) leaves the quick scan.
    sum = scan(input);
  }
  const stored: Stored = { first: sum.first, last: sum.last, events: sum.events, losses: sum.losses.all.map((l) => ({ ...l, to: Number.isFinite(l.to) ? l.to : null })), checkpoints: sum.checkpoints };
  try {
    writeFileSync(file + '.tmp', JSON.stringify(stored));
    // Renamed into place so a reader never sees half a file.
    renameInto(file + '.tmp', file);
  } catch {
    // A cache that cannot be written only costs the next run a pass.
  }
  return sum;
}

/** The summary's last checkpoint at or before `at` (ns), to replay from; undefined: replay from the start. */
export function summaryCheckpoint(sum: TraceSummary, at: number): PassCheckpoint | undefined {
  return sum.dir ? checkpointBefore(sum.dir, sum.checkpoints, at) : undefined;
}
