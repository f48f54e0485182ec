/**
 * Sync markers: the offset between buffers on different trace clocks, measured by the kernel's own
 * stamps. One thread writes the first buffer's trace_marker, then another buffer's, then the
 * first's again, back to back; the other buffer's marker was stamped between the first's two, so
 * its offset lies between (before - other) and (after - other). Done at the start and at the end
 * of a recording (the drift between shows in the uncertainty). Buffers on the first's clock need
 * none; counter clocks are never converted (trace/clocks.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Instance } from '../tracefs/instance.js';
import { isCounterClock, offsetFromPairs, type ClockOffset } from '../trace/clocks.js';
import { recordType } from '../ringbuf/fields.js';
import { forEachPageFileRecord } from './formats.js';

const PREFIX = 'lkst clock sync';
/** ftrace:print's data: common fields (8), ip (8), then the text. */
const PRINT_TEXT_AT = 16;

export type SyncPhase = 'start' | 'end';

/** A buffer's page files, as a recording keeps them. */
export interface SyncedBuffer {
  inst: Instance;
  pageSize: number;
  files: readonly { source: string }[];
}

export class ClockSync {
  private readonly tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  /** Indexes (into the buffers given) of those synced against the first. */
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

  /**
   * Writes one phase's markers: first, other, first, other... (each other buffer between two of the
   * first's). A buffer that refuses (tracing off) gets no offset from this phase.
   */
  mark(phase: SyncPhase): void {
    if (!this.needed) return;
    const writers: ({ write(v: string): void; close(): void } | undefined)[] = [];
    const open = (i: number) => {
      try {
        return this.instances[i]!.openWriter('trace_marker');
      } catch {
        return undefined;
      }
    };
    for (const i of [0, ...this.synced]) writers[i] = open(i);
    try {
      // Opened beforehand: only the write(2)s lie between the stamps.
      const texts: [number, string][] = [[0, this.text(phase, 0)]];
      this.synced.forEach((i, j) => texts.push([i, this.text(phase, 2 * j + 1)], [0, this.text(phase, 2 * j + 2)]));
      for (const [i, text] of texts) {
        try {
          writers[i]?.write(text);
        } catch {
          // Tracing off in that buffer: its marker is missing, and so is the pair.
        }
      }
      this.phases.push(phase);
    } finally {
      for (const w of writers) w?.close();
    }
  }

  private text(phase: SyncPhase, seq: number): string {
    return `${PREFIX} ${this.tag} ${phase} ${seq}\n`;
  }

  /**
   * Each buffer's offset to the first, from the markers its page files hold (undefined: the first,
   * one on its clock, or markers missing). printId: ftrace:print's event id.
   */
  offsets(buffers: readonly SyncedBuffer[], printId: number): (ClockOffset | undefined)[] {
    const out: (ClockOffset | undefined)[] = buffers.map(() => undefined);
    if (!this.needed || !this.phases.length) return out;
    const ref = this.found(buffers[0]!, printId);
    this.synced.forEach((i, j) => {
      const own = this.found(buffers[i]!, printId);
      const pairs = this.phases.flatMap((phase) => {
        const before = ref.get(`${phase} ${2 * j}`);
        const other = own.get(`${phase} ${2 * j + 1}`);
        const after = ref.get(`${phase} ${2 * j + 2}`);
        return before !== undefined && other !== undefined && after !== undefined ? [{ refBefore: before, refAfter: after, other }] : [];
      });
      const phases = [...new Set(this.phases)].filter((p) => pairs.length && own.has(`${p} ${2 * j + 1}`));
      out[i] = offsetFromPairs(pairs, `sync markers at ${phases.join(' and ')}${phases.length < 2 ? ' only (drift after it unknown)' : ''}`);
    });
    return out;
  }

  /** "phase seq" → time of this recording's markers in a buffer's page files. */
  private found(b: SyncedBuffer, printId: number): Map<string, number> {
    const at = new Map<string, number>();
    const head = `${PREFIX} ${this.tag} `;
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
}
