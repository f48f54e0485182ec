/**
 * Sync markers: the offset between buffers on different trace clocks, measured by the kernel's own
 * stamps. One thread writes the first buffer's trace_marker, then another buffer's, then the
 * first's again, back to back; the other buffer's marker was stamped between the first's two, so
 * its offset lies between (before - other) and (after - other). Done at the start and at the end
 * of a recording (the drift between shows in the uncertainty). Buffers on the first's clock need
 * none; counter clocks are never converted (trace/clocks.ts). A buffer with no trace_marker on the
 * `mono` clock (the BPF engine's, bpf_ktime_get_ns) is synced the same way against this process's
 * CLOCK_MONOTONIC, read just before and after a marker in the first buffer (MonoSync).
 */
import { randomBytes } from 'node:crypto';
import type { Instance } from '../tracefs/instance.js';
import { tracefs } from '../tracefs/tracefs.js';
import { isCounterClock, offsetFromRanges, type ClockOffset } from '../trace/clocks.js';
import { recordType } from '../ringbuf/fields.js';
import { forEachPageFileRecord } from './formats.js';

const PREFIX = 'lkst clock sync';
/** ftrace:print's data: common fields (8), ip (8), then the text. */
const PRINT_TEXT_AT = 16;

export type SyncPhase = 'start' | 'end';

/** A buffer's page files, as a recording keeps them. */
export interface SyncedBuffer {
  pageSize: number;
  files: readonly { source: string }[];
}

type Writer = { write(v: string): void; close(): void };

/** ftrace:print's event id (what trace_marker writes). */
export function printEventId(): number {
  return Number(tracefs().read('events/ftrace/print/id'));
}

function openMarker(inst: Instance): Writer | undefined {
  try {
    return inst.openWriter('trace_marker');
  } catch {
    return undefined;
  }
}

/** Writes a marker; false when the buffer refuses it (tracing off): that sync then has no pair. */
function tryWrite(w: Writer | undefined, text: string): boolean {
  try {
    w?.write(text);
    return !!w;
  } catch {
    return false;
  }
}

function syncTag(): string {
  return `${PREFIX} ${process.pid}-${randomBytes(4).toString('hex')} `;
}

/** "phase seq" → time of the markers starting with `head` in a buffer's page files. */
function markerTimes(b: SyncedBuffer, printId: number, head: string): Map<string, number> {
  const at = new Map<string, number>();
  for (const f of b.files) {
    forEachPageFileRecord(f.source, b.pageSize, (buf, ts, off, len) => {
      if (len <= PRINT_TEXT_AT + head.length || recordType(buf, off) !== printId) return;
      const text = buf.toString('latin1', off + PRINT_TEXT_AT, off + len);
      if (!text.startsWith(head)) return;
      const key = /^(start|end) \d+/.exec(text.slice(head.length))?.[0];
      if (key) at.set(key, ts);
    });
  }
  return at;
}

function how(phases: readonly SyncPhase[]): string {
  const set = [...new Set(phases)];
  return `sync markers at ${set.join(' and ')}${set.length < 2 ? ` only, drift ${set[0] === 'start' ? 'after' : 'before'} it unknown` : ''}`;
}

/** Sync markers among tracefs instances, against the first. */
export class ClockSync {
  private readonly head = syncTag();
  /** Indexes (into the instances given) of those synced against the first. */
  private readonly synced: number[];
  private readonly phases: SyncPhase[] = [];

  constructor(private readonly instances: readonly Instance[]) {
    const clocks = instances.map((i) => i.clock);
    const ref = clocks[0];
    this.synced = ref === undefined || isCounterClock(ref) ? [] : clocks.flatMap((c, i) => (i > 0 && c !== ref && !isCounterClock(c) ? [i] : []));
  }

  /** Whether any buffer needs markers. */
  get needed(): boolean {
    return this.synced.length > 0;
  }

  /** Writes one phase's markers: first, other, first, other... (each other buffer between two of the first's). */
  mark(phase: SyncPhase): void {
    if (!this.needed) return;
    const writers: (Writer | undefined)[] = [];
    for (const i of [0, ...this.synced]) writers[i] = openMarker(this.instances[i]!);
    try {
      // Opened beforehand: only the write(2)s lie between the stamps.
      tryWrite(writers[0], `${this.head}${phase} 0\n`);
      this.synced.forEach((i, j) => {
        tryWrite(writers[i], `${this.head}${phase} ${2 * j + 1}\n`);
        tryWrite(writers[0], `${this.head}${phase} ${2 * j + 2}\n`);
      });
      this.phases.push(phase);
    } finally {
      for (const w of writers) w?.close();
    }
  }

  /** Each buffer's offset to the first, from the markers its page files hold (undefined: the first, one on its clock, or markers missing). */
  offsets(buffers: readonly SyncedBuffer[], printId: number): (ClockOffset | undefined)[] {
    const out: (ClockOffset | undefined)[] = buffers.map(() => undefined);
    if (!this.needed || !this.phases.length) return out;
    const ref = markerTimes(buffers[0]!, printId, this.head);
    this.synced.forEach((i, j) => {
      const own = markerTimes(buffers[i]!, printId, this.head);
      const found: SyncPhase[] = [];
      const ranges = this.phases.flatMap((phase) => {
        const before = ref.get(`${phase} ${2 * j}`);
        const other = own.get(`${phase} ${2 * j + 1}`);
        const after = ref.get(`${phase} ${2 * j + 2}`);
        if (before === undefined || other === undefined || after === undefined) return [];
        found.push(phase);
        return [{ lo: before - other, hi: after - other }];
      });
      out[i] = offsetFromRanges(ranges, how(found));
    });
    return out;
  }
}

/** Sync of `mono` times (this process's CLOCK_MONOTONIC, as bpf_ktime_get_ns) against an instance's clock. */
export class MonoSync {
  private readonly head = syncTag();
  private readonly marks: { phase: SyncPhase; before: number; after: number }[] = [];
  readonly needed: boolean;

  constructor(private readonly inst: Instance) {
    const clock = inst.clock;
    this.needed = clock !== 'mono' && !isCounterClock(clock);
  }

  /** A marker in the instance, between two readings of CLOCK_MONOTONIC (process.hrtime is it, on Linux). */
  mark(phase: SyncPhase): void {
    if (!this.needed) return;
    const w = openMarker(this.inst);
    try {
      const before = process.hrtime.bigint();
      const ok = tryWrite(w, `${this.head}${phase} ${this.marks.length}\n`);
      const after = process.hrtime.bigint();
      if (ok) this.marks.push({ phase, before: Number(before), after: Number(after) });
    } finally {
      w?.close();
    }
  }

  /** What to add to `mono` times to put them on the instance's clock, from the markers in its page files. */
  offset(inst: SyncedBuffer, printId: number): ClockOffset | undefined {
    if (!this.marks.length) return undefined;
    const at = markerTimes(inst, printId, this.head);
    const found: SyncPhase[] = [];
    const ranges = this.marks.flatMap((m, i) => {
      const ts = at.get(`${m.phase} ${i}`);
      if (ts === undefined) return [];
      found.push(m.phase);
      return [{ lo: ts - m.after, hi: ts - m.before }];
    });
    return offsetFromRanges(ranges, `${how(found)}, against CLOCK_MONOTONIC`);
  }
}
