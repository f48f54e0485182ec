/** Markers (ftrace:print, from trace_marker) and the maskset switches lkst writes as markers. */
import type { TraceEvent } from './event.js';
import type { TraceInput } from './input.js';
import type { Analysis } from './pass.js';
import { bindFields } from './schema.js';

export interface Marker {
  ts: number;
  cpu: number;
  text: string;
}

export interface MasksetSwitch {
  ts: number;
  from: string;
  to: string;
}

/** The text `lkst maskset switch` writes into the trace. */
const MASKSET_RE = /lkst: maskset (\S+) -> (\S+)/;
/** The text `lkst record -m` and `lkst start` write when they apply the first maskset. */
const MASKSET_START_RE = /^lkst: maskset (\S+)$/;

export class MarkerAnalysis implements Analysis {
  readonly markers: Marker[] = [];
  readonly switches: MasksetSwitch[] = [];
  /** The maskset applied when the recording began, from its start marker. */
  started?: string;
  /** All markers seen, kept or not. */
  count = 0;
  private readonly print;

  /** keep: how many markers to remember (switches are always kept). */
  constructor(input: TraceInput, private readonly keep = 100_000) {
    this.print = bindFields(input.registry, 'ftrace', 'print', ['buf']);
  }

  event(ev: TraceEvent): void {
    if (!this.print || ev.id !== this.print.fmt.id) return;
    const text = ev.str(this.print.buf).trim();
    this.count++;
    if (this.markers.length < this.keep) this.markers.push({ ts: ev.ts, cpu: ev.cpu, text });
    const m = MASKSET_RE.exec(text);
    if (m) this.switches.push({ ts: ev.ts, from: m[1]!, to: m[2]! });
    else if (!this.switches.length) this.started ??= MASKSET_START_RE.exec(text)?.[1];
  }

  save(): unknown {
    return { markers: this.markers, switches: this.switches, started: this.started ?? null, count: this.count };
  }

  load(s: unknown): void {
    const saved = s as { markers: Marker[]; switches: MasksetSwitch[]; started: string | null; count: number };
    this.markers.length = 0;
    for (const m of saved.markers) this.markers.push(m);
    this.switches.length = 0;
    for (const m of saved.switches) this.switches.push(m);
    this.started = saved.started ?? undefined;
    this.count = saved.count;
  }

  /** The maskset in force after the last switch seen, or the one the recording began with (undefined when neither was seen). */
  get current(): string | undefined {
    return this.switches[this.switches.length - 1]?.to ?? this.started;
  }
}
