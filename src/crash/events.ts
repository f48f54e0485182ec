// Decoded events of recovered buffers, for the summary and for checks (reports use the trace.dat).
import { parseFormat, type EventFormat } from '../events/format.js';
import type { FieldValue } from '../ringbuf/fields.js';
import { readFields } from '../ringbuf/fields.js';
import { forEachRecord } from '../ringbuf/page.js';
import type { RecoveredFormat } from './formats.js';
import type { CpuPages } from './ringbuffer.js';

export interface DecodedEvent {
  cpu: number;
  ts: number;
  id: number;
  /** "system:name", or "id N" without a format. */
  event: string;
  pid: number;
  fields: Record<string, FieldValue>;
}

export function formatMap(formats: RecoveredFormat[]): Map<number, EventFormat> {
  return new Map(formats.map((f) => [f.id, parseFormat(f.text, f.system)]));
}

/** Every event of the given CPUs' pages, CPU by CPU in page order (not merged by time). */
export function* decodeEvents(cpus: CpuPages[], pageSize: number, formats: Map<number, EventFormat>): Generator<DecodedEvent> {
  for (const c of cpus) {
    for (let i = 0; i < c.pageCount; i++) {
      const page = c.page(i);
      const batch: DecodedEvent[] = [];
      try {
        forEachRecord(page, 0, pageSize, (ts, off, len) => {
          const id = page.readUInt16LE(off);
          const f = formats.get(id);
          batch.push({
            cpu: c.cpu, ts, id, event: f ? `${f.system}:${f.name}` : `id ${id}`, pid: page.readInt32LE(off + 4),
            fields: f ? readFields(page, off, len, f) : {},
          });
        });
      } catch {
        // A damaged page yields what came before the damage; recover() reports it.
      }
      yield* batch;
    }
  }
}

/** A short one-line rendering of an event's fields. */
export function fieldsText(fields: Record<string, FieldValue>, symbolize?: (addr: bigint) => string | undefined): string {
  return Object.entries(fields).map(([k, v]) => {
    if (typeof v === 'bigint') {
      const sym = symbolize?.(v);
      return `${k}=0x${v.toString(16)}${sym ? `(${sym})` : ''}`;
    }
    if (Buffer.isBuffer(v)) return `${k}=<${v.length} bytes>`;
    if (Array.isArray(v)) return `${k}=[${v.length}]`;
    return `${k}=${typeof v === 'string' ? v.trimEnd() : v}`;
  }).join(' ');
}
