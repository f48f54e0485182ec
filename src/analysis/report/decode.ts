/**
 * Decoding without printing: every record of a trace, merged by time, read into a typed record
 * (event, time, CPU, pid and each field's value in a reused array). The measure of raw decode speed.
 */
import type { EventFormat } from '../../events/format.js';
import { readNum, u16le, u32le, i32le, type Num } from '../../events/printfmt/num.js';
import { arraySpan } from '../../events/field-span.js';
import { StringInterner } from '../../events/interned-strings.js';
import { openTraceDat, type TraceFile } from '../../file/reader.js';
import { mergeRecords, type MergeInput } from '../../ringbuf/merge.js';
import { prefetchInputs } from './prefetch.js';

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

/** Distinct char-array values kept (task names repeat). */
const MAX_KEPT = 1 << 16;

function fieldReaders(fmt: EventFormat, strings: StringInterner): Reader[] {
  return fmt.fields.map((f): Reader => {
    if (f.arrayLen >= 0 && /char/.test(f.type)) {
      return (b, o, l, out, i) => {
        const [s, n] = arraySpan(b, o, l, f);
        out[i] = strings.get(b, o + s, o + s + n);
      };
    }
    if (f.arrayLen >= 0 || ![1, 2, 4, 8].includes(f.size)) return (_b, _o, _l, out, i) => void (out[i] = 0);
    // One reader per size: the common ones read without readNum's switch.
    const at = f.offset;
    const end = f.offset + f.size;
    switch (f.size) {
      case 1:
        return (b, o, l, out, i) => void (out[i] = end > l ? 0 : b[o + at]!);
      case 2:
        return (b, o, l, out, i) => void (out[i] = end > l ? 0 : b[o + at]! | (b[o + at + 1]! << 8));
      case 4:
        return (b, o, l, out, i) => void (out[i] = end > l ? 0 : u32le(b, o + at));
      default:
        return (b, o, l, out, i) => void (out[i] = end > l ? 0 : readNum(b, o + at, 8));
    }
  });
}

export function decodeTrace(file: TraceFile, visit?: (r: TypedRecord) => void): number {
  const streams = file.buffers.flatMap((buf) => buf.cpus.filter((cs) => cs.size > 0));
  const inputs: MergeInput[] = streams.map((cs) => ({ chunks: { [Symbol.iterator]: () => cs.chunks(true)[Symbol.iterator]() }, pageSize: cs.pageSize }));
  const cpus = streams.map((cs) => cs.cpu);
  // Compressed pages are decompressed on a worker thread while this one decodes.
  const prefetch = prefetchInputs(file, streams, inputs);
  try {
    return decodeInputs(file, inputs, cpus, visit);
  } finally {
    prefetch?.close();
  }
}

function decodeInputs(file: TraceFile, inputs: MergeInput[], cpus: number[], visit?: (r: TypedRecord) => void): number {
  const readers: (Reader[] | null | undefined)[] = [];
  const formats: (EventFormat | undefined)[] = [];
  const strings = new StringInterner(MAX_KEPT);
  const rec: TypedRecord = { ts: 0, cpu: 0, pid: 0, format: undefined, values: [] };
  return mergeRecords(inputs, (input, ts, b, off, len) => {
    const id = u16le(b, off);
    let rd = readers[id];
    let fmt = formats[id];
    if (rd === undefined) {
      fmt = formats[id] = file.registry.get(id);
      rd = readers[id] = fmt ? fieldReaders(fmt, strings) : null;
    }
    rec.ts = ts;
    rec.cpu = cpus[input]!;
    rec.pid = i32le(b, off + 4);
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
