/**
 * Decoding without printing: every record of a trace, merged by time, read into a typed record
 * (event, time, CPU, pid and each field's value in a reused array). The measure of raw decode speed.
 */
import type { EventFormat } from '../../events/format.js';
import { readNum, type Num } from '../../events/printfmt/num.js';
import { arraySpan, cstr } from '../../events/field-span.js';
import { openTraceDat, type TraceFile } from '../../file/reader.js';
import { mergeRecords, type MergeInput } from '../../ringbuf/merge.js';

/** One decoded record; the object and its values array are reused from record to record. */
export interface TypedRecord {
  ts: number;
  cpu: number;
  pid: number;
  format: EventFormat | undefined;
  /** Field values in format order: numbers (bigint past 53 bits) and strings for char arrays. */
  values: (Num | string)[];
}

type Reader = (b: Buffer, off: number, len: number, out: (Num | string)[], i: number) => void;

function fieldReaders(fmt: EventFormat): Reader[] {
  return fmt.fields.map((f): Reader => {
    if (f.arrayLen >= 0 && /char/.test(f.type)) {
      return (b, o, l, out, i) => {
        const [s, n] = arraySpan(b, o, l, f);
        out[i] = cstr(b, o + s, o + s + n);
      };
    }
    if (f.arrayLen >= 0 || ![1, 2, 4, 8].includes(f.size)) return (_b, _o, _l, out, i) => void (out[i] = 0);
    return (b, o, l, out, i) => void (out[i] = f.offset + f.size > l ? 0 : readNum(b, o + f.offset, f.size));
  });
}

export function decodeTrace(file: TraceFile, visit?: (r: TypedRecord) => void): number {
  const inputs: MergeInput[] = [];
  const cpus: number[] = [];
  for (const buf of file.buffers) {
    for (const cs of buf.cpus) {
      if (cs.size === 0) continue;
      inputs.push({ chunks: { [Symbol.iterator]: () => cs.chunks()[Symbol.iterator]() }, pageSize: cs.pageSize });
      cpus.push(cs.cpu);
    }
  }
  const readers: (Reader[] | null | undefined)[] = [];
  const rec: TypedRecord = { ts: 0, cpu: 0, pid: 0, format: undefined, values: [] };
  return mergeRecords(inputs, (input, ts, b, off, len) => {
    const id = b.readUInt16LE(off);
    let rd = readers[id];
    const fmt = file.registry.get(id);
    if (rd === undefined) rd = readers[id] = fmt ? fieldReaders(fmt) : null;
    rec.ts = ts;
    rec.cpu = cpus[input]!;
    rec.pid = b.readInt32LE(off + 4);
    rec.format = fmt;
    if (rd) for (let i = 0; i < rd.length; i++) rd[i]!(b, off, len, rec.values, i);
    visit?.(rec);
  });
}

export function decodeFile(path: string, visit?: (r: TypedRecord) => void): number {
  const file = openTraceDat(path);
  try {
    return decodeTrace(file, visit);
  } finally {
    file.close();
  }
}
