/**
 * `lkst analyze timers`: each timer's life (init, start, expire, cancel) and findings when a timer
 * is used on heap memory that was freed before: the seed's "timer fired after its structure was
 * freed" case. Heap ranges come from kmalloc/kmem_cache_alloc sizes and kfree/kmem_cache_free.
 */
import type { Field } from '../events/format.js';
import type { EventRecord, TraceEvent } from './event.js';
import { HeapMap, type HeapEvent, type HeapObject } from './heap-map.js';
import type { TraceInput } from './input.js';
import { Pass, type Analysis } from './pass.js';
import { Dispatch, hex } from './schema.js';
import { fmtDur } from './time.js';

export type TimerOp = 'init' | 'start' | 'expire' | 'expire_exit' | 'cancel';

export interface TimerLife {
  addr: string;
  kind: 'timer' | 'hrtimer';
  function?: string;
  first: number;
  last: number;
  counts: Record<TimerOp, number>;
  /** Armed and not yet fired or cancelled: since when, and its expiry (jiffies for timers, ns for hrtimers). */
  pending?: { since: number; expires: number };
  /** The heap object the timer lives in, when its allocation was traced. */
  object?: { ptr: string; size: number; offset: number; cache?: string };
}

export type FindingKind = 'freed-while-pending' | 'fired-after-free' | 'armed-after-free' | 'used-after-free';

export interface TimerFinding {
  kind: FindingKind;
  ts: number;
  timer: string;
  function?: string;
  object: { ptr: string; size: number; offset: number; cache?: string };
  message: string;
  /** How often the same thing happened again for this timer and object. */
  repeats: number;
  /** The events that prove it, in time order: allocation, arming, free, the use. */
  evidence: EventRecord[];
}

export interface TimerReport {
  timers: TimerLife[];
  findings: TimerFinding[];
  /** Whether the trace had what the free check needs. */
  coverage: { timerEvents: boolean; freeEvents: boolean; allocSizes: boolean };
  freedTracked: number;
  /** Old, idle timers dropped from `timers` to bound memory on long traces (findings are kept). */
  timersNotListed: number;
}

interface TimerState extends TimerLife {
  key: bigint;
  lastStart?: EventRecord;
}

const OPS: { name: string; op: TimerOp; kind: 'timer' | 'hrtimer'; field: string }[] = [
  { name: 'timer_init', op: 'init', kind: 'timer', field: 'timer' },
  { name: 'timer_start', op: 'start', kind: 'timer', field: 'timer' },
  { name: 'timer_expire_entry', op: 'expire', kind: 'timer', field: 'timer' },
  { name: 'timer_expire_exit', op: 'expire_exit', kind: 'timer', field: 'timer' },
  { name: 'timer_cancel', op: 'cancel', kind: 'timer', field: 'timer' },
  { name: 'hrtimer_init', op: 'init', kind: 'hrtimer', field: 'hrtimer' },
  { name: 'hrtimer_setup', op: 'init', kind: 'hrtimer', field: 'hrtimer' },
  { name: 'hrtimer_start', op: 'start', kind: 'hrtimer', field: 'hrtimer' },
  { name: 'hrtimer_expire_entry', op: 'expire', kind: 'hrtimer', field: 'hrtimer' },
  { name: 'hrtimer_expire_exit', op: 'expire_exit', kind: 'hrtimer', field: 'hrtimer' },
  { name: 'hrtimer_cancel', op: 'cancel', kind: 'hrtimer', field: 'hrtimer' },
];

const PAGE_SHIFT = 12n;
const SOFTIRQ_FLAG = 0x10;

function heapRecord(h: HeapEvent, ptr: bigint, extra: Record<string, string | number>): EventRecord {
  return { ts: h.ts, cpu: h.cpu, pid: h.pid, event: h.event, fields: { call_site: hex(h.callSite), ptr: hex(ptr), ...extra } };
}

export class TimerAnalysis implements Analysis {
  private readonly dispatch = new Dispatch();
  private readonly heap = new HeapMap();
  private readonly timers = new Map<bigint, TimerState>();
  private readonly pendingByPage = new Map<bigint, Set<TimerState>>();
  private readonly findings = new Map<string, TimerFinding>();
  readonly coverage = { timerEvents: false, freeEvents: false, allocSizes: false };
  private forgotten = 0;

  constructor(
    private readonly input: TraceInput,
    private readonly maxTimers = 200_000,
  ) {
    const reg = input.registry;
    const d = this.dispatch;
    for (const o of OPS) {
      const fmt = reg.find('timer', o.name);
      const f = fmt?.fieldByName.get(o.field);
      if (!fmt || !f) continue;
      this.coverage.timerEvents = true;
      const fn = fmt.fieldByName.get('function');
      const exp = fmt.fieldByName.get('expires');
      d.on(fmt, (ev) => this.onTimer(ev, o.op, o.kind, ev.big(f), fn, exp));
    }
    const allocSize = (name: string) =>
      d.bind(reg, 'kmem', name, ['ptr', 'bytes_alloc', 'call_site'], (ev, f) => {
        const cacheF = ev.fmt?.fieldByName.get('name');
        this.heap.alloc(ev.big(f.ptr), ev.num(f.bytes_alloc), this.heapEvent(ev, f.call_site), cacheF ? ev.str(cacheF) : undefined);
      });
    this.coverage.allocSizes = allocSize('kmalloc') || this.coverage.allocSizes;
    this.coverage.allocSizes = allocSize('kmem_cache_alloc') || this.coverage.allocSizes;
    for (const name of ['kfree', 'kmem_cache_free']) {
      const ok = d.bind(reg, 'kmem', name, ['ptr', 'call_site'], (ev, f) => {
        const ptr = ev.big(f.ptr);
        if (ptr === 0n) return;
        const cacheF = ev.fmt?.fieldByName.get('name');
        const obj = this.heap.free(ptr, this.heapEvent(ev, f.call_site), cacheF ? ev.str(cacheF) : undefined);
        this.checkPendingInFreed(obj);
      });
      this.coverage.freeEvents ||= ok;
    }
  }

  private heapEvent(ev: TraceEvent, callSite: Field): HeapEvent {
    return { ts: ev.ts, cpu: ev.cpu, pid: ev.pid, event: `${ev.system}:${ev.name}`, callSite: ev.big(callSite) };
  }

  private sym(addr: bigint): string {
    return this.input.symbolize?.(addr) ?? hex(addr);
  }

  event(ev: TraceEvent): void {
    this.dispatch.run(ev);
  }

  private timer(key: bigint, kind: 'timer' | 'hrtimer', ts: number): TimerState {
    let t = this.timers.get(key);
    if (!t) {
      t = { key, addr: hex(key), kind, first: ts, last: ts, counts: { init: 0, start: 0, expire: 0, expire_exit: 0, cancel: 0 } };
      const obj = this.heap.liveAt(key);
      if (obj) t.object = { ptr: hex(obj.ptr), size: obj.size, offset: 0, cache: obj.cache };
      this.timers.set(key, t);
      if (this.timers.size > this.maxTimers) this.forgetOldest();
    }
    return t;
  }

  /** Keeps memory bounded on long traces: the oldest timers not armed now are dropped from the list. */
  private forgetOldest(): void {
    for (const [k, old] of this.timers) {
      if (this.timers.size <= this.maxTimers * 0.9) break;
      if (old.pending) continue;
      this.timers.delete(k);
      this.forgotten++;
    }
  }

  private setPending(t: TimerState, pending: TimerLife['pending']): void {
    const page = t.key >> PAGE_SHIFT;
    let s = this.pendingByPage.get(page);
    if (pending) {
      if (!s) this.pendingByPage.set(page, (s = new Set()));
      s.add(t);
    } else if (s) {
      s.delete(t);
      if (!s.size) this.pendingByPage.delete(page);
    }
    t.pending = pending;
  }

  private onTimer(ev: TraceEvent, op: TimerOp, kind: 'timer' | 'hrtimer', key: bigint, fnF?: Field, expF?: Field): void {
    const t = this.timer(key, kind, ev.ts);
    t.last = ev.ts;
    t.counts[op]++;
    if (fnF) t.function = this.sym(ev.big(fnF));
    const freed = this.heap.freedAt(key);
    if (op === 'init') {
      // Initialising a timer there means the memory was allocated again (perhaps untraced).
      if (freed) this.heap.reused(freed);
      this.setPending(t, undefined);
      return;
    }
    if (op === 'start') {
      t.lastStart = ev.snapshot();
      this.setPending(t, { since: ev.ts, expires: expF ? ev.num(expF) : 0 });
    } else if (op === 'expire' || op === 'cancel') this.setPending(t, undefined);
    if (freed) {
      // The timer softirq detaches an expiring timer (timer_cancel) just before its callback runs.
      const firing = op === 'expire' || (op === 'cancel' && kind === 'timer' && (ev.flags & SOFTIRQ_FLAG) !== 0);
      const kindOf: FindingKind = firing ? 'fired-after-free' : op === 'start' ? 'armed-after-free' : 'used-after-free';
      const what = op === 'expire' ? 'fired' : firing ? 'was taken off the timer wheel to fire (timer softirq)' : op === 'start' ? 'was armed' : op === 'cancel' ? 'was cancelled' : 'finished running';
      this.addFinding(kindOf, t, freed, ev.ts, `${kind} ${t.addr}${t.function ? ` (${t.function})` : ''} ${what} on memory freed ${fmtDur(ev.ts - freed.free!.ts)} before`, ev.snapshot());
    }
  }

  /** A free that covers a timer still armed: the moment the bug happens. */
  private checkPendingInFreed(obj: HeapObject): void {
    const end = obj.ptr + BigInt(Math.max(1, obj.size));
    for (let page = obj.ptr >> PAGE_SHIFT; page <= (end - 1n) >> PAGE_SHIFT; page++) {
      const s = this.pendingByPage.get(page);
      if (!s) continue;
      for (const t of s) {
        if (t.key < obj.ptr || t.key >= end) continue;
        this.addFinding('freed-while-pending', t, obj, obj.free!.ts, `memory ${hex(obj.ptr)} freed while its ${t.kind} ${t.addr}${t.function ? ` (${t.function})` : ''} was still armed`);
      }
    }
  }

  private addFinding(kind: FindingKind, t: TimerState, obj: HeapObject, ts: number, message: string, use?: EventRecord): void {
    const id = `${kind}|${t.addr}|${hex(obj.ptr)}|${obj.free?.ts}`;
    const old = this.findings.get(id);
    if (old) {
      old.repeats++;
      return;
    }
    const evidence: EventRecord[] = [];
    if (obj.alloc) evidence.push(heapRecord(obj.alloc, obj.ptr, { bytes_alloc: obj.size, ...(obj.cache ? { name: obj.cache } : {}) }));
    if (t.lastStart) evidence.push(t.lastStart);
    if (obj.free) evidence.push(heapRecord(obj.free, obj.ptr, obj.cache ? { name: obj.cache } : {}));
    if (use) evidence.push(use);
    evidence.sort((a, b) => a.ts - b.ts);
    for (const e of evidence) this.symbolizeRecord(e);
    const object = { ptr: hex(obj.ptr), size: obj.size, offset: Number(t.key - obj.ptr), cache: obj.cache };
    this.findings.set(id, { kind, ts, timer: t.addr, function: t.function, object, message, repeats: 0, evidence });
  }

  /** Code addresses in evidence (call sites, timer functions) as symbol names. */
  private symbolizeRecord(e: EventRecord): void {
    for (const k of ['call_site', 'function']) {
      const v = e.fields[k];
      const addr = typeof v === 'bigint' ? v : typeof v === 'string' && /^0x[0-9a-f]+$/.test(v) ? BigInt(v) : typeof v === 'number' ? BigInt(v) : undefined;
      if (addr === undefined) continue;
      const sym = this.input.symbolize?.(addr);
      if (sym) e.fields[k] = sym;
    }
  }

  result(): TimerReport {
    const timers: TimerLife[] = [...this.timers.values()].map(({ key: _k, lastStart: _l, ...life }) => life);
    timers.sort((a, b) => a.first - b.first);
    const findings = [...this.findings.values()].sort((a, b) => a.ts - b.ts);
    return { timers, findings, coverage: this.coverage, freedTracked: this.heap.freedCount, timersNotListed: this.forgotten };
  }
}

/** The timer report of a whole trace in one streaming pass. */
export function analyzeTimers(input: TraceInput): TimerReport {
  const pass = new Pass(input);
  const a = pass.add(new TimerAnalysis(input));
  pass.run();
  return a.result();
}
