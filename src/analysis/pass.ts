/** One pass over a trace feeding the scheduler model and any number of analyses together. */
import type { TraceEvent } from './event.js';
import type { TraceInput } from './input.js';
import { SchedModel } from './sched-model.js';
import { forEachEvent, type PassLoss, type StreamVisitor } from './stream.js';

export interface Analysis {
  event?(ev: TraceEvent): void;
  lost?(cpu: number, ts: number, count: number, buffer: string): void;
  /** Overwritten before the recording began, flagged on cpu before ts (see StreamVisitor.lostBefore). */
  lostBefore?(cpu: number, ts: number, count: number, buffer: string): void;
  /** The settled loss figures once the pass is over. */
  done?(loss: PassLoss): void;
  /** What the analysis found, once the pass is over. */
  result?(): unknown;
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

  constructor(readonly input: TraceInput) {
    this.model = new SchedModel(input.registry, input.cmdlines);
  }

  add<A extends Analysis>(a: A): A {
    this.analyses.push(a);
    return a;
  }

  /** Streams the trace (up to `until` ns, inclusive) through the model and the analyses. */
  run(opts: { until?: number } = {}): this {
    const list = this.analyses;
    const withEvent = list.filter((a) => a.event);
    const withLost = list.filter((a) => a.lost);
    const visitor: StreamVisitor = {
      event: (ev) => {
        if (this.events++ === 0) this.first = ev.ts;
        this.last = ev.ts;
        this.model.event(ev);
        for (const a of withEvent) a.event!(ev);
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
    forEachEvent(this.input, visitor, { until: opts.until });
    return this;
  }
}
