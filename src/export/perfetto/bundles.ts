/**
 * Per-CPU FtraceEventBundles as protos/perfetto/trace/ftrace/ftrace_event_bundle.proto defines them
 * and src/trace_processor/importers/ftrace/ftrace_tokenizer.cc (TokenizeFtraceBundle) reads them:
 *  - lost_events: data were lost between the previous bundle of the CPU and this bundle's first
 *    event, so it is set on the bundle that follows the loss.
 *  - previous_bundle_end_timestamp on a CPU's first bundle: data valid from then on. Written when
 *    the CPU's data begin after a loss (a wrapped buffer keeps only its newest pages); the importer
 *    takes the latest such start over all CPUs as the time from which every CPU's data is valid.
 */
import { ProtoWriter } from '../protobuf.js';
import { BUNDLE, PACKET } from './ids.js';
import { bundleClock, type BundleClock } from './clock.js';
import type { PacketSink } from './packets.js';

const EVENTS_PER_BUNDLE = 2048;

interface CpuBundle {
  w: ProtoWriter;
  n: number;
  firstTs: number;
  lost: boolean;
  /** No bundle of this CPU written yet. */
  first: boolean;
  /** A loss came before the CPU's first event. */
  lostAtStart: boolean;
}

export class Bundles {
  private readonly cpus = new Map<number, CpuBundle>();
  private readonly head = new ProtoWriter(64);
  private clock?: BundleClock;

  constructor(private readonly out: PacketSink, private readonly clockName: string | undefined) {}

  private bundle(cpu: number): CpuBundle {
    let b = this.cpus.get(cpu);
    if (!b) this.cpus.set(cpu, (b = { w: new ProtoWriter(1 << 16), n: 0, firstTs: 0, lost: false, first: true, lostAtStart: false }));
    return b;
  }

  /** One encoded FtraceEvent of cpu at ts. */
  add(cpu: number, ts: number, event: Uint8Array): void {
    // The clock pair is taken at the trace's first event (any time of the trace would do).
    this.clock ??= bundleClock(this.clockName, ts);
    const b = this.bundle(cpu);
    if (!b.n) b.firstTs = ts;
    b.w.bytes(BUNDLE.event, event);
    if (++b.n >= EVENTS_PER_BUNDLE) this.flush(cpu, b);
  }

  /** Events were lost on cpu before its next event. */
  lost(cpu: number): void {
    const b = this.bundle(cpu);
    if (b.n) this.flush(cpu, b);
    b.lost = true;
    if (b.first) b.lostAtStart = true;
  }

  /** Writes what each CPU still holds. */
  end(): void {
    for (const [cpu, b] of this.cpus) this.flush(cpu, b);
  }

  private flush(cpu: number, b: CpuBundle): void {
    if (!b.n && !b.lost) return;
    const h = this.head;
    h.reset();
    h.int(BUNDLE.cpu, cpu);
    if (b.lost) h.int(BUNDLE.lostEvents, true);
    this.clock?.write(h);
    if (b.first && b.lostAtStart && b.n) h.int(BUNDLE.previousBundleEndTimestamp, b.firstTs);
    this.out.packet((p) => p.tag(PACKET.ftraceEvents, 2).varint(h.len + b.w.len).raw(h.view()).raw(b.w.view()));
    if (b.n) b.first = false;
    b.w.reset();
    b.n = 0;
    b.lost = false;
  }
}
