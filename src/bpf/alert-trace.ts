/**
 * The alerts of a recording as events of the trace: each alert lkst-bpf-run kept (alerts.rec)
 * becomes an `lkst/alert` event in the buffer `alerts`, at the alert's time and CPU, with the
 * alerting event's pid, the unit, the handler, the event and its fields as `lkst watch` printed
 * them (a user handler's notes by their names). lkst writes the event's format into the trace, so
 * `trace-cmd report` prints it and `lkst stats` counts it like any event.
 */
import { existsSync } from 'node:fs';
import type { ExtraBuffer } from '../trace/writer-port.js';
import type { TraceMeta } from '../ringbuf/meta.js';
import { AlertDecoder, type Alert } from './alerts.js';
import type { AlertUnit } from './codegen.js';
import { readRecordFile, recordsTraceBuffer, type BpfRecord } from './record-stream.js';

/** The format id of lkst/alert: far above the ids this kernel hands out (2,325 here), within common_type's 16 bits. */
export const ALERT_EVENT_ID = 65000;
export const ALERT_SYSTEM = 'lkst';
/** A __data_loc string holds at most this many bytes (its length is 16 bits): longer field texts are cut. */
const MAX_TEXT = 4000;

/** The format file of lkst/alert, as the kernel writes one. */
export const ALERT_FORMAT = `name: alert
ID: ${ALERT_EVENT_ID}
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned int unit;\toffset:8;\tsize:4;\tsigned:0;
\tfield:__data_loc char[] handler;\toffset:12;\tsize:4;\tsigned:0;
\tfield:__data_loc char[] event;\toffset:16;\tsize:4;\tsigned:0;
\tfield:__data_loc char[] fields;\toffset:20;\tsize:4;\tsigned:0;

print fmt: "unit=%u handler=%s event=%s %s", REC->unit, __get_str(handler), __get_str(event), __get_str(fields)
`;

/** The trace's format entry for lkst/alert. */
export const alertFormats = (): TraceMeta['eventFormats'] => [{ system: ALERT_SYSTEM, formats: [ALERT_FORMAT] }];

/** An alert's fields as one text, "k=v k=v" (what `lkst watch` prints after the pid). */
export const alertFieldsText = (a: Alert): string =>
  Object.entries(a.fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** One lkst/alert record: the fixed part, then the three strings (NUL-terminated) they locate. */
export function alertRecord(unit: number, handler: string, a: Alert): Buffer {
  const texts = [handler, a.event, alertFieldsText(a)].map((t) => Buffer.from(`${Buffer.from(t).subarray(0, MAX_TEXT).toString('utf8')}\0`));
  const fixed = Buffer.alloc(24);
  fixed.writeUInt16LE(ALERT_EVENT_ID, 0);
  fixed.writeInt32LE(a.pid, 4);
  fixed.writeUInt32LE(unit, 8);
  let at = fixed.length;
  texts.forEach((t, i) => {
    fixed.writeUInt32LE(((t.length << 16) | at) >>> 0, 12 + 4 * i);
    at += t.length;
  });
  return Buffer.concat([fixed, ...texts]);
}

/**
 * The buffer `alerts` of a recording: every alert in alerts.rec as an lkst/alert event on its CPU,
 * each CPU's CPUSTAT counting the alerts that found the alert ring full (lost, exact).
 */
export function alertTraceBuffer(file: string, units: readonly AlertUnit[], cpus: readonly { cpu: number; lost: number }[], dir: string, pageSize: number): { buffer: ExtraBuffer; records: number } {
  const decoder = new AlertDecoder(units);
  const handlerOf = new Map(units.map((u) => [u.unit, u.handler]));
  const byCpu = new Map<number, BpfRecord[]>();
  for (const r of existsSync(file) ? readRecordFile(file) : []) {
    const unit = r.word >>> 16;
    const cpu = r.word & 0xffff;
    const a = decoder.decode(unit, r.ts, cpu, r.data);
    if (!a) throw new Error(`${file}: an alert of unit ${unit}, which raises none`);
    const list = byCpu.get(cpu) ?? byCpu.set(cpu, []).get(cpu)!;
    list.push({ ts: r.ts, data: alertRecord(unit, handlerOf.get(unit) ?? 'alert', a), word: 0 });
  }
  // Every CPU that alerted or lost an alert; the runner names each possible CPU.
  const all = new Map(cpus.map((c) => [c.cpu, c]));
  for (const cpu of byCpu.keys()) if (!all.has(cpu)) all.set(cpu, { cpu, lost: 0 });
  return recordsTraceBuffer([...all.values()].sort((x, y) => x.cpu - y.cpu), (cpu) => byCpu.get(cpu) ?? [], dir, pageSize, 'alerts');
}
