/**
 * `lkst analyze timers`: each timer's life (init, start, expire, cancel) and findings when a timer
 * is used on heap memory that was freed before: the seed's "timer fired after its structure was
 * freed" case. Heap ranges come from kmalloc/kmem_cache_alloc sizes and kfree/kmem_cache_free.
 * A finding is certain only when nothing in the trace could explain it otherwise: events lost in
 * its window, or memory that was handed out again without a traced allocation, make it uncertain.
 */
import { addrBig, addrDiff, addrDigits, addrField, addrHex, addrKey, type Addr } from './addr.js';
import { TimerClock } from './timer-clock.js';
import type { Field } from '../events/format.js';
import type { EventRecord, TraceEvent } from './event.js';
import { HeapEvent, HeapMap, loadObject, saveObject, type HeapObject, type SavedHeap, type SavedObject } from './heap-map.js';
import type { TraceInput } from './input.js';
import { InternedField } from './interned.js';
import { LossLog } from './losses.js';
import { Pass, type Analysis } from './pass.js';
import type { PassLoss } from './stream.js';
import { RangeIndex } from './range-index.js';
import { Dispatch } from './schema.js';
import { fmtDur, fmtTs } from './time.js';

export type TimerOp = 'init' | 'start' | 'expire' | 'expire_exit' | 'cancel';

export interface TimerLife {
  addr: string;
  kind: 'timer' | 'hrtimer';
  function?: string;
  first: number;
  last: number;
  counts: Record<TimerOp, number>;
  /**
   * Armed and not yet fired or cancelled: since when, and its expiry (jiffies for timers, ns for
   * hrtimers); uncertain says which lost events may hide its cancel or expiry.
   */
  pending?: { since: number; expires: number; uncertain?: string; /** The expiry in trace time, when the trace can tell (timer-clock.ts). */ expiresAt?: number; /** timer_list: jiffies when armed. */ jiffies?: number };
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
  /** Why it may be wrong (events lost in its window, memory handed out unseen); absent when certain. */
  uncertain?: string;
}

export interface TimerReport {
  timers: TimerLife[];
  /** Certain findings: no lost events in their window, nothing else to explain them. */
  findings: TimerFinding[];
  /** Findings the trace cannot settle, each with its reason. */
  uncertainFindings: TimerFinding[];
  /** Whether the trace had what the free check needs. */
  coverage: { timerEvents: boolean; freeEvents: boolean; allocSizes: boolean };
  freedTracked: number;
  /** Old, idle timers dropped from `timers` to bound memory on long traces (findings are kept). */
  timersNotListed: number;
}

interface TimerState extends TimerLife {
  key: Addr;
  /** Its last arming in the current life of the memory it lives in. */
  lastStart?: EventRecord;
}

interface Pending {
  finding: TimerFinding;
  obj: HeapObject;
  /** Reasons known when it was made; losses and later frees are looked at in result(). */
  reasons: string[];
}

interface SavedTimers {
  objects: SavedObject[];
  heap: SavedHeap;
  timers: TimerState[];
  findings: { id: string; finding: TimerFinding; obj: number; reasons: string[] }[];
  clock: unknown;
  forgotten: number;
  last: number;
  syms: [string, string][];
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

const SOFTIRQ_FLAG = 0x10;
const UNSEEN_REUSE = 'the memory may have been handed out again by an allocation the trace does not show';

function heapRecord(h: HeapEvent, ptr: Addr, extra: Record<string, string | number>): EventRecord {
  return { ts: h.ts, cpu: h.cpu, pid: h.pid, event: h.event, fields: { call_site: addrHex(h.callSite), ptr: addrHex(ptr), ...extra } };
}

export class TimerAnalysis implements Analysis {
  private readonly maxTimers: number;
  private readonly dispatch = new Dispatch();
  private readonly heap = new HeapMap();
  private readonly timers = new Map<Addr, TimerState>();
  /** Every listed timer by address, to end the lives of those inside a new allocation. */
  private readonly byAddr = new RangeIndex<TimerState>();
  private readonly findings = new Map<string, Pending>();
  private readonly clock = new TimerClock();
  readonly coverage = { timerEvents: false, freeEvents: false, allocSizes: false };
  private forgotten = 0;
  private last = 0;
  /** Losses fed by the stream, unless the caller scanned them beforehand. */
  private readonly ownLosses: boolean;
  readonly losses: LossLog;

  constructor(
    private readonly input: TraceInput,
    opts: { maxTimers?: number; losses?: LossLog } = {},
  ) {
    this.maxTimers = opts.maxTimers ?? 200_000;
    this.ownLosses = !opts.losses;
    this.losses = opts.losses ?? new LossLog();
    const reg = input.registry;
    const d = this.dispatch;
    for (const o of OPS) {
      const fmt = reg.find('timer', o.name);
      const f = fmt?.fieldByName.get(o.field);
      if (!fmt || !f) continue;
      this.coverage.timerEvents = true;
      const fn = fmt.fieldByName.get('function');
      const exp = fmt.fieldByName.get('expires');
      const now = fmt.fieldByName.get('now');
      d.on(fmt, (ev) => {
        if (now && o.name === 'hrtimer_expire_entry') this.clock.hrtimerNow(ev.ts, ev.num(now));
        else if (now && o.kind === 'timer') this.clock.jiffiesAt(ev.ts, ev.num(now));
        this.onTimer(ev, o.op, o.kind, addrField(ev, f), fn, exp, o.op === 'start' && now ? ev.num(now) : undefined);
      });
    }
    // The slab cache's name (kmem_cache_*), a field looked up once per event type.
    const cacheField = (name: string) => {
      const f = reg.find('kmem', name)?.fieldByName.get('name');
      return f && new InternedField(f);
    };
    const allocSize = (name: string, cacheF = cacheField(name)) =>
      d.bind(reg, 'kmem', name, ['ptr', 'bytes_alloc', 'call_site'], (ev, f) => {
        const ptr = addrField(ev, f.ptr);
        if (ptr === 0n) return;
        const obj = this.heap.alloc(ptr, ev.num(f.bytes_alloc), this.heapEvent(ev, f.call_site), cacheF?.read(ev));
        this.newLife(obj);
      });
    // Kernels before 6.2 trace node allocations as separate events.
    for (const name of ['kmalloc', 'kmem_cache_alloc', 'kmalloc_node', 'kmem_cache_alloc_node']) this.coverage.allocSizes = allocSize(name) || this.coverage.allocSizes;
    for (const name of ['kfree', 'kmem_cache_free']) {
      const cacheF = cacheField(name);
      const ok = d.bind(reg, 'kmem', name, ['ptr', 'call_site'], (ev, f) => {
        const ptr = addrField(ev, f.ptr);
        if (ptr === 0n) return;
        const obj = this.heap.free(ptr, this.heapEvent(ev, f.call_site), cacheF?.read(ev));
        this.checkPendingInFreed(obj);
      });
      this.coverage.freeEvents ||= ok;
    }
  }

  private heapEvent(ev: TraceEvent, callSite: Field): HeapEvent {
    let event = this.eventNames[ev.id];
    if (event === undefined) this.eventNames[ev.id] = event = `${ev.system}:${ev.name}`;
    return new HeapEvent(ev.ts, ev.cpu, ev.pid, event, addrField(ev, callSite));
  }

  /** system:name by event id, made once (a heap event is built for every allocation and free). */
  private readonly eventNames: string[] = [];

  private readonly syms = new Map<Addr, string>();

  private sym(addr: Addr): string {
    let s = this.syms.get(addr);
    if (s === undefined) {
      s = this.input.symbolize?.(addrBig(addr)) ?? addrHex(addr);
      if (this.syms.size < 100_000) this.syms.set(addr, s);
    }
    return s;
  }

  event(ev: TraceEvent): void {
    if (this.ownLosses) this.losses.seen(ev.cpu, ev.ts, ev.buffer);
    this.last = ev.ts;
    this.dispatch.run(ev);
  }

  lost(cpu: number, ts: number, count: number, buffer: string): void {
    if (this.ownLosses) this.losses.lost(cpu, ts, count, buffer);
  }

  lostBefore(cpu: number, ts: number, count: number, buffer: string): void {
    if (this.ownLosses) this.losses.lost(cpu, ts, count, buffer);
  }

  done(loss: PassLoss): void {
    if (this.ownLosses) this.losses.settle(loss);
  }

  /**
   * A traced allocation over timers ends their old lives: what they did in memory that was freed
   * and handed out again belongs to another object.
   */
  private newLife(obj: HeapObject): void {
    for (const t of this.byAddr.overlapping(obj.ptr, obj.size)) {
      t.pending = undefined;
      t.lastStart = undefined;
      t.object = { ptr: addrHex(obj.ptr), size: obj.size, offset: addrDiff(t.key, obj.ptr), cache: obj.cache };
    }
  }

  private timer(key: Addr, kind: 'timer' | 'hrtimer', ts: number): TimerState {
    let t = this.timers.get(key);
    if (!t) {
      t = { key, addr: addrHex(key), kind, first: ts, last: ts, counts: { init: 0, start: 0, expire: 0, expire_exit: 0, cancel: 0 } };
      const obj = this.heap.liveAt(key);
      if (obj) t.object = { ptr: addrHex(obj.ptr), size: obj.size, offset: 0, cache: obj.cache };
      this.timers.set(key, t);
      this.byAddr.add(key, 1, t);
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
      this.byAddr.remove(k, 1, old);
      this.forgotten++;
    }
  }

  private onTimer(ev: TraceEvent, op: TimerOp, kind: 'timer' | 'hrtimer', key: Addr, fnF?: Field, expF?: Field, jiffies?: number): void {
    const t = this.timer(key, kind, ev.ts);
    t.last = ev.ts;
    t.counts[op]++;
    const fn = fnF ? this.sym(addrField(ev, fnF)) : undefined;
    if (fn) t.function = fn;
    const armed = t.lastStart;
    const freed = this.heap.freedAt(key);
    if (op === 'init') {
      // Initialising a timer there means the memory was allocated again (perhaps untraced).
      if (freed) {
        this.heap.reused(freed);
        t.lastStart = undefined;
      }
      t.pending = undefined;
      return;
    }
    if (op === 'start') {
      t.lastStart = ev.snapshot();
      const p: NonNullable<TimerLife['pending']> = { since: ev.ts, expires: expF ? ev.num(expF) : 0 };
      if (jiffies !== undefined) p.jiffies = jiffies;
      t.pending = p;
    } else if (op === 'expire' || op === 'cancel') t.pending = undefined;
    // expire_exit only reports the pointer after the callback returned, and a callback may free
    // its own timer (the kernel allows it: TCP's TIME_WAIT timer frees its socket).
    if (!freed || op === 'expire_exit') return;
    // The timer softirq detaches an expiring timer (timer_cancel) just before its callback runs.
    const firing = op === 'expire' || (op === 'cancel' && kind === 'timer' && (ev.flags & SOFTIRQ_FLAG) !== 0);
    const kindOf: FindingKind = firing ? 'fired-after-free' : op === 'start' ? 'armed-after-free' : 'used-after-free';
    const what = op === 'expire' ? 'fired' : firing ? 'was taken off the timer wheel to fire (timer softirq)' : op === 'start' ? 'was armed' : 'was cancelled';
    const reasons: string[] = [];
    // Armed only after the free (itself a finding) or never: nothing ties it to the freed object.
    if (!armed || armed.ts > freed.free!.ts) reasons.push(`it was not armed while that memory was allocated in the trace: ${UNSEEN_REUSE}`);
    else {
      const before = this.fnOf(armed);
      if (fn && before && fn !== before) reasons.push(`its function changed from ${before} to ${fn}: ${UNSEEN_REUSE}`);
    }
    this.addFinding(kindOf, t, armed, freed, ev.ts, `${kind} ${t.addr}${t.function ? ` (${t.function})` : ''} ${what} on memory freed ${fmtDur(ev.ts - freed.free!.ts)} before`, reasons, ev.snapshot());
  }

  private fnOf(r: EventRecord): string | undefined {
    const v = r.fields.function;
    return typeof v === 'bigint' ? this.sym(addrKey(v)) : typeof v === 'string' ? v : undefined;
  }

  /** A free that covers a timer still armed: the moment the bug happens. */
  private checkPendingInFreed(obj: HeapObject): void {
    for (const t of this.byAddr.overlapping(obj.ptr, obj.size)) {
      if (!t.pending) continue;
      this.addFinding('freed-while-pending', t, t.lastStart, obj, obj.free!.ts, `memory ${addrHex(obj.ptr)} freed while its ${t.kind} ${t.addr}${t.function ? ` (${t.function})` : ''} was still armed`, []);
    }
  }

  private addFinding(kind: FindingKind, t: TimerState, armed: EventRecord | undefined, obj: HeapObject, ts: number, message: string, reasons: string[], use?: EventRecord): void {
    // Armed before the memory was allocated: the timer belonged to an earlier object there.
    if (armed && obj.alloc && armed.ts < obj.alloc.ts) return;
    const id = `${kind}|${t.addr}|${addrHex(obj.ptr)}|${obj.free?.ts}`;
    const old = this.findings.get(id);
    if (old) {
      old.finding.repeats++;
      return;
    }
    const evidence: EventRecord[] = [];
    if (obj.alloc) evidence.push(heapRecord(obj.alloc, obj.ptr, { bytes_alloc: obj.size, ...(obj.cache ? { name: obj.cache } : {}) }));
    if (armed) evidence.push(armed);
    if (obj.free) evidence.push(heapRecord(obj.free, obj.ptr, obj.cache ? { name: obj.cache } : {}));
    if (use) evidence.push(use);
    evidence.sort((a, b) => a.ts - b.ts);
    for (const e of evidence) this.symbolizeRecord(e);
    const object = { ptr: addrHex(obj.ptr), size: obj.size, offset: addrDiff(t.key, obj.ptr), cache: obj.cache };
    this.findings.set(id, { finding: { kind, ts, timer: t.addr, function: t.function, object, message, repeats: 0, evidence }, obj, reasons });
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

  /** Why a finding may be wrong, from what is known at the end: losses, memory freed again. */
  private uncertainty(p: Pending): string | undefined {
    const f = p.finding;
    const why = [...p.reasons];
    const lost = this.losses.uncertainty(f.evidence[0]?.ts ?? f.ts, f.ts);
    if (lost) why.unshift(lost);
    const again = p.obj.freedAgain;
    if (again) why.push(`its memory was freed again at ${fmtTs(again.ts)} with no traced allocation in between: ${UNSEEN_REUSE}`);
    return why.length ? why.join('; ') : undefined;
  }

  /**
   * Its state part-way through a pass whose losses were given beforehand (its own loss log is not
   * kept). Heap objects are listed once and named by number, as findings share them with the heap.
   */
  save(): SavedTimers {
    const objects: HeapObject[] = [];
    const ids = new Map<HeapObject, number>();
    const ref = (o: HeapObject) => {
      let n = ids.get(o);
      if (n === undefined) {
        ids.set(o, (n = objects.length));
        objects.push(o);
      }
      return n;
    };
    const heap = this.heap.save(ref);
    const findings = [...this.findings].map(([id, p]) => ({ id, finding: p.finding, obj: ref(p.obj), reasons: p.reasons }));
    // The names of the functions met so far: a resumed pass need not parse kallsyms for them again.
    const syms = [...this.syms].map(([addr, name]): [string, string] => [addrDigits(addr), name]);
    return { objects: objects.map(saveObject), heap, timers: [...this.timers.values()], findings, clock: this.clock.save(), forgotten: this.forgotten, last: this.last, syms };
  }

  load(s: unknown): void {
    const saved = s as SavedTimers;
    const objects = saved.objects.map(loadObject);
    const obj = (n: number) => objects[n]!;
    this.heap.load(saved.heap, obj);
    for (const t of [...this.timers.values()]) this.byAddr.remove(t.key, 1, t);
    this.timers.clear();
    for (const t of saved.timers) {
      // Checkpoints made before addresses were keys hold every key as a bigint.
      if (typeof t.key === 'bigint') t.key = addrKey(t.key);
      this.timers.set(t.key, t);
      this.byAddr.add(t.key, 1, t);
    }
    this.findings.clear();
    for (const f of saved.findings) this.findings.set(f.id, { finding: f.finding, obj: obj(f.obj), reasons: f.reasons });
    this.clock.load(saved.clock);
    this.forgotten = saved.forgotten;
    this.last = saved.last;
    this.syms.clear();
    for (const [addr, name] of saved.syms) this.syms.set(addrKey(BigInt('0x' + addr)), name);
  }

  /** end: the moment the report describes (default: the last event seen). */
  result(end = this.last): TimerReport {
    const timers: TimerLife[] = [...this.timers.values()].map((t) => {
      // Fields in one order, however the timer's life set them (a resumed pass rebuilds them anew).
      const life: TimerLife = { addr: t.addr, kind: t.kind, first: t.first, last: t.last, counts: t.counts, ...(t.function !== undefined ? { function: t.function } : {}), ...(t.pending ? { pending: t.pending } : {}), ...(t.object ? { object: t.object } : {}) };
      const p = life.pending;
      if (!p) return life;
      const uncertain = this.losses.uncertainty(p.since, end);
      const expiresAt = this.clock.expiryAt(life.kind, p.expires, p.since, p.jiffies);
      return { ...life, pending: { ...p, ...(uncertain ? { uncertain } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) } };
    });
    timers.sort((a, b) => a.first - b.first);
    const all = [...this.findings.values()].sort((a, b) => a.finding.ts - b.finding.ts);
    const findings: TimerFinding[] = [];
    const uncertainFindings: TimerFinding[] = [];
    for (const p of all) {
      const uncertain = this.uncertainty(p);
      if (uncertain) uncertainFindings.push({ ...p.finding, uncertain });
      else findings.push(p.finding);
    }
    return { timers, findings, uncertainFindings, coverage: this.coverage, freedTracked: this.heap.freedCount, timersNotListed: this.forgotten };
  }
}

/** The timer report of a whole trace in one streaming pass. */
export function analyzeTimers(input: TraceInput): TimerReport {
  const pass = new Pass(input, { model: false });
  const a = pass.add(new TimerAnalysis(input));
  pass.run();
  return a.result();
}
