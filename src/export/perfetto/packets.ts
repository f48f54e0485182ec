/** Frames TracePackets into the file: Trace.packet, length, the packet, all on one writer sequence. */
import type { FileSink } from '../file-sink.js';
import { ProtoWriter } from '../protobuf.js';
import { PACKET, TRACE_PACKET } from './ids.js';

/**
 * One sequence for every packet, as Perfetto's own ftrace data source writes all CPUs' bundles
 * through one writer: the importer keys the local/global clock to the sequence
 * (ftrace_tokenizer.cc), so one clock pair serves every CPU.
 */
const SEQUENCE = 1;

export class PacketSink {
  private readonly body = new ProtoWriter(1 << 16);
  private readonly head = new ProtoWriter(16);
  packets = 0;

  constructor(private readonly sink: FileSink) {}

  /** A packet filled by fill; ts (trace clock) places it in time for the importer's sort. */
  packet(fill: (p: ProtoWriter) => void, ts?: number): void {
    const p = this.body;
    p.reset();
    if (ts !== undefined) p.int(PACKET.timestamp, ts);
    fill(p);
    p.int(PACKET.trustedSequenceId, SEQUENCE);
    this.head.reset();
    this.head.tag(TRACE_PACKET, 2).varint(p.len);
    this.sink.write(this.head.view());
    this.sink.write(p.view());
    this.packets++;
  }
}
