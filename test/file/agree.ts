/** Shared by the file tests: decode pages ourselves, parse `trace-cmd report -t`, and check that both agree. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseFormat } from '../../src/events/format.js';
import { EventRegistry } from '../../src/events/registry.js';
import { readFields, recordType, type FieldValue } from '../../src/ringbuf/fields.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import type { TraceMeta } from '../../src/ringbuf/meta.js';
import type { TraceBuffer } from '../../src/trace/model.js';

export interface Ev {
  ts: number;
  name: string;
  fields: Record<string, FieldValue>;
}

export interface CpuEvents {
  events: Ev[];
  /** Stored lost-event counts of pages flagged by the kernel, in page order. */
  dropped: number[];
}

export function registryOf(meta: TraceMeta): EventRegistry {
  const reg = new EventRegistry();
  for (const f of meta.ftraceFormats) reg.add(parseFormat(f, 'ftrace'));
  for (const s of meta.eventFormats) for (const f of s.formats) reg.add(parseFormat(f, s.system));
  return reg;
}

export function decodePages(reg: EventRegistry, chunks: Iterable<Buffer>, pageSize: number): CpuEvents {
  const out: CpuEvents = { events: [], dropped: [] };
  for (const buf of chunks) {
    for (let p = 0; p + pageSize <= buf.length; p += pageSize) {
      const head = forEachRecord(buf, p, pageSize, (ts, off, len) => {
        const fmt = reg.get(recordType(buf, off));
        out.events.push({ ts, name: fmt?.name ?? `#${recordType(buf, off)}`, fields: fmt ? readFields(buf, off, len, fmt) : {} });
      });
      if (head.missedEvents && head.missedCount >= 0) out.dropped.push(head.missedCount);
    }
  }
  return out;
}

export function decodeBuffer(reg: EventRegistry, b: TraceBuffer): Map<number, CpuEvents> {
  return new Map(b.cpus.map((s) => [s.cpu, decodePages(reg, s.chunks(), s.pageSize)]));
}

export interface ReportLine {
  ts: string;
  name: string;
  text: string;
}

export interface Report {
  byCpu: Map<number, ReportLine[]>;
  dropped: Map<number, number[]>;
  raw: string;
}

/** `trace-cmd report -t FILE` (nanosecond times), split by CPU in output order. */
export function tracecmdReport(path: string, extra: string[] = []): Report {
  const r = spawnSync('trace-cmd', ['report', '-t', ...extra, path], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `trace-cmd report failed: ${r.stderr}`);
  const byCpu = new Map<number, ReportLine[]>();
  const dropped = new Map<number, number[]>();
  for (const line of r.stdout.split('\n')) {
    const d = /CPU:(\d+) \[(\d+) EVENTS DROPPED\]/.exec(line);
    if (d) {
      const list = dropped.get(Number(d[1])) ?? [];
      list.push(Number(d[2]));
      dropped.set(Number(d[1]), list);
      continue;
    }
    const m = /\[(\d{3,})\]\s+(\d+\.\d{9}):\s+(\S+):\s?(.*)$/.exec(line);
    if (!m) continue;
    const cpu = Number(m[1]);
    const list = byCpu.get(cpu) ?? [];
    list.push({ ts: m[2]!, name: m[3]!, text: m[4]! });
    byCpu.set(cpu, list);
  }
  return { byCpu, dropped, raw: r.stdout };
}

export function tsText(ns: number): string {
  return `${Math.floor(ns / 1e9)}.${String(ns % 1e9).padStart(9, '0')}`;
}

/** What trace-cmd must show of a record's fields, for the events whose output we know. */
function expectedText(ev: Ev): string[] | undefined {
  const f = ev.fields;
  switch (ev.name) {
    case 'sched_switch':
      return [`${f.prev_comm}:${f.prev_pid} `, `==> ${f.next_comm}:${f.next_pid} `];
    case 'sched_waking':
      return [`comm=${f.comm} pid=${f.pid} `];
    case 'sys_enter':
      return [`NR ${f.id} `];
    case 'sys_exit':
      return [`NR ${f.id} = ${f.ret}`];
    case 'kmalloc':
      return [`bytes_req=${f.bytes_req} bytes_alloc=${f.bytes_alloc}`];
    case 'irq_handler_entry':
      return [`irq=${f.irq} `];
    case 'print':
      return [String(f.buf).replace(/\n$/, '')];
    default:
      return undefined;
  }
}

/**
 * Every CPU: the same events in the same order with the same nanosecond times, the fields of the
 * events we know printed with our values, and the same dropped-event counts. Returns how many
 * events and field checks were compared.
 */
export function assertAgrees(ours: Map<number, CpuEvents>, theirs: Report): { events: number; fieldChecks: number } {
  let events = 0;
  let fieldChecks = 0;
  for (const cpu of new Set([...ours.keys(), ...theirs.byCpu.keys()])) {
    const a = ours.get(cpu)?.events ?? [];
    const b = theirs.byCpu.get(cpu) ?? [];
    assert.equal(b.length, a.length, `CPU ${cpu}: trace-cmd shows ${b.length} events, we decoded ${a.length}`);
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (y.ts !== tsText(x.ts) || y.name !== x.name) {
        assert.fail(`CPU ${cpu} event ${i}: trace-cmd has ${y.name} at ${y.ts}, we have ${x.name} at ${tsText(x.ts)}`);
      }
      for (const want of expectedText(x) ?? []) {
        assert.ok(y.text.includes(want), `CPU ${cpu} ${x.name} at ${y.ts}: trace-cmd printed '${y.text}', expected it to contain '${want}'`);
        fieldChecks++;
      }
    }
    events += a.length;
    assert.deepEqual(theirs.dropped.get(cpu) ?? [], ours.get(cpu)?.dropped ?? [], `CPU ${cpu}: dropped-event counts differ`);
  }
  return { events, fieldChecks };
}

/** Events per name over all CPUs. */
export function countByName(evs: Map<number, CpuEvents>): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of evs.values()) for (const e of c.events) out.set(e.name, (out.get(e.name) ?? 0) + 1);
  return out;
}
