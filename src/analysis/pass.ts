/** One pass over a trace feeding the scheduler model and any number of analyses together. */
import type { TraceEvent } from './event.js';
import type { TraceInput } from './input.js';
import { SchedModel } from './sched-model.js';
import { forEachEvent, type PassLoss, type StreamPosition, type StreamVisitor } from './stream.js';

export interface Analysis {
  event?(ev: TraceEvent): void;
  lost?(cpu: number, ts: number, count: number, buffer: string): void;
  /** Overwritten before the recording began, flagged on cpu before ts (see StreamVisitor.lostBefore). */
  lostBefore?(cpu: number, ts: number, count: number, buffer: string): void;
  /** The settled loss figures once the pass is over. */
  done?(loss: PassLoss): void;
  /** What the analysis found, once the pass is over. */
  result?(): unknown;
  /** Its state part-way through, as plain JSON-able data (bigints allowed), to resume from. */
  save?(): unknown;
  load?(saved: unknown): void;
}

/** A pass stopped after some record: where the stream stands, the model's and each analysis's state. */
export interface PassCheckpoint {
  stream: StreamPosition;
  first: number;
  last: number;
  model: unknown;
  analyses: unknown[];
}

export interface RunOptions {
  /** The last time to visit (ns, inclusive). */
  until?: number;
  /** Resume from a checkpoint taken by a pass with the same analyses, added in the same order. */
  from?: PassCheckpoint;
  /** Take a checkpoint after every `every`th record. */
  checkpoints?: { every: number; take: (cp: PassCheckpoint) => void };
}

export class Pass {
  readonly model: SchedModel;
  private readonly analyses: Analysis[] = [];
  /** Time of the first and last record seen (NaN before any). */
  first = NaN;
  last = NaN;
  events = 0;
  /** The settled loss figures, after run(). */
  loss: PassLoss = { cpus: [], unplaced: [] };

  /** Analyses that read nothing of the scheduler model (timers) leave it out: it would replay every sched and syscall event for nothing. */
  private readonly modelled: boolean;

  constructor(
    readonly input: TraceInput,
    opts: { model?: boolean; syscalls?: boolean } = {},
  ) {
    this.model = new SchedModel(input.registry, input.cmdlines, { syscalls: opts.syscalls });
    this.modelled = opts.model ?? true;
  }

  add<A extends Analysis>(a: A): A {
    this.analyses.push(a);
    return a;
  }

  /** Streams the trace (up to `until` ns, inclusive) through the model and the analyses. */
  run(opts: RunOptions = {}): this {
    const list = this.analyses;
    const from = opts.from;
    if (from) {
      this.first = from.first;
      this.last = from.last;
      this.events = from.stream.events;
      this.model.load(from.model);
      list.forEach((a, i) => a.load?.(from.analyses[i]));
    }
    const cps = opts.checkpoints;
    const withEvent = list.filter((a) => a.event);
    const withLost = list.filter((a) => a.lost);
    const modelled = this.modelled;
    const visitor: StreamVisitor = {
      event: (ev) => {
        if (this.events++ === 0) this.first = ev.ts;
        this.last = ev.ts;
        if (modelled) this.model.event(ev);
        for (let k = 0; k < withEvent.length; k++) withEvent[k]!.event!(ev);
      },
      lost: (cpu, ts, count, buffer) => {
        for (const a of withLost) a.lost!(cpu, ts, count, buffer);
      },
      lostBefore: (cpu, ts, count, buffer) => {
        for (const a of list) a.lostBefore?.(cpu, ts, count, buffer);
      },
      done: (loss) => {
        this.loss = loss;
        for (const a of list) a.done?.(loss);
      },
    };
    const mark = cps && {
      every: cps.every,
      take: (stream: StreamPosition) => cps.take({ stream, first: this.first, last: this.last, model: this.model.save(), analyses: list.map((a) => a.save?.()) }),
    };
    forEachEvent(this.input, visitor, { until: opts.until, from: from?.stream, mark });
    return this;
  }
}
