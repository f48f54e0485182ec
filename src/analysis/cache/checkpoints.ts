/**
 * Checkpoints of the replay `lkst state` makes (state.ts statePass): every CHECKPOINT_EVERY
 * records, where each CPU stream stands (page, record, the loss ledger's counts) and the scheduler
 * model's, timers' and markers' state, one JSON file each. `state --at T` resumes from the last
 * one at or before T instead of replaying from the start.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PassCheckpoint } from '../pass.js';

/** Records between checkpoints at most: a replay from one takes a fraction of a second. */
export const CHECKPOINT_EVERY = 500_000;
/** Small traces get checkpoints too, about this many, never closer than MIN_EVERY records. */
const TARGET_COUNT = 16;
const MIN_EVERY = 10_000;
/** A record takes about this many bytes of page (sched and syscall events: 24 to 64). */
const RECORD_BYTES = 32;

/** Records between checkpoints for a trace with this many bytes of pages. */
export function checkpointEvery(pageBytes: number): number {
  return Math.max(MIN_EVERY, Math.min(CHECKPOINT_EVERY, Math.ceil(pageBytes / RECORD_BYTES / TARGET_COUNT)));
}

export interface CheckpointRef {
  /** Records before it (from the start of the trace) and the time of the last of them. */
  events: number;
  ts: number;
  file: string;
}

/** JSON has no bigint (addresses): each is kept as {"$n": decimal}. */
function encode(cp: PassCheckpoint): string {
  return JSON.stringify(cp, (_k, v) => (typeof v === 'bigint' ? { $n: v.toString() } : v));
}

/** Bigints and Buffers back in place (a walk: JSON.parse's reviver costs a call per value). */
function revive(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === 'object') v[i] = revive(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  if (typeof o.$n === 'string') return BigInt(o.$n);
  if (o.type === 'Buffer' && Array.isArray(o.data)) return Buffer.from(o.data as number[]);
  for (const k in o) {
    const x = o[k];
    if (x !== null && typeof x === 'object') o[k] = revive(x);
  }
  return o;
}

function decode(text: string): PassCheckpoint {
  return revive(JSON.parse(text)) as PassCheckpoint;
}

/** Writes each checkpoint a pass takes into dir as `<prefix>-<n>.json`; refs lists them. */
export function checkpointWriter(dir: string, prefix: string): { take: (cp: PassCheckpoint) => void; refs: CheckpointRef[] } {
  const refs: CheckpointRef[] = [];
  return {
    refs,
    take: (cp) => {
      const file = `${prefix}-${refs.length}.json`;
      const path = join(dir, file);
      // Renamed into place so a reader never sees half a file (and two builders never share one).
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, encode(cp));
      renameSync(tmp, path);
      refs.push({ events: cp.stream.events, ts: cp.stream.ts, file });
    },
  };
}

/** The last checkpoint at or before `at` (ns), read from dir; undefined when none is (or it cannot be read). */
export function checkpointBefore(dir: string, refs: readonly CheckpointRef[], at: number): PassCheckpoint | undefined {
  let best: CheckpointRef | undefined;
  for (const r of refs) if (r.ts <= at && (!best || r.events > best.events)) best = r;
  if (!best) return undefined;
  try {
    return decode(readFileSync(join(dir, best.file), 'utf8'));
  } catch {
    // A damaged or removed checkpoint only costs the replay from the start.
    return undefined;
  }
}
