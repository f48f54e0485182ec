/**
 * The output of trace-cmd's libtraceevent plugins (sched_switch, kmem, hrtimer, futex, tlb) for
 * the events they take over: same text, written here from what they print, not from their code.
 */
import type { EventFormat, Field } from '../format.js';
import type { Piece, StrPiece } from './compile.js';
import type { TextWriter } from './writer.js';
import { cstr } from '../field-span.js';
import { readNum, toU64, type Num } from './num.js';

/** A plugin's text (as a string piece or written directly) and whether libtraceevent prints the event's own format after it. */
export interface PluginRender {
  piece?: StrPiece;
  write?: Piece;
  thenPretty: boolean;
}

function u64Field(f: Field | undefined): ((b: Buffer, o: number) => Num) | undefined {
  if (!f || ![1, 2, 4, 8].includes(f.size)) return undefined;
  const fo = f.offset;
  const sz = f.size;
  return (b, o) => readNum(b, o + fo, sz);
}

const dec = (v: Num): string => toU64(v).toString();
const int32 = (v: Num): number => Number(BigInt.asIntN(32, BigInt(v)));

function taskState(v: number): string {
  const states = 'SDTtZXxW';
  let s = '';
  for (let i = 0; i < states.length; i++) {
    if (!(v & (1 << i))) continue;
    if (s) s += '|';
    s += states[i];
  }
  return s || 'R';
}

function commOf(b: Buffer, o: number, f: Field): string {
  return cstr(b, o + f.offset, o + f.offset + f.size);
}

/** Writes "comm:" for a task name field and registers the name for later lines. */
function writeComm(b: Buffer, o: number, f: Field, pid: number, w: TextWriter, ctx: { comms: { has(p: number): boolean; register(p: number, c: string): void } }): void {
  if (!ctx.comms.has(pid)) ctx.comms.register(pid, commOf(b, o, f));
  w.cstr(b, o + f.offset, o + f.offset + f.size);
  w.ch(58);
}

function writeNum(w: TextWriter, v: Num): void {
  if (typeof v === 'number' && v >= 0) w.uint(v, 10);
  else w.str(dec(v));
}

function schedSwitch(fmt: EventFormat): Piece | undefined {
  const F = fmt.fieldByName;
  const prevPid = u64Field(F.get('prev_pid'));
  const nextPid = u64Field(F.get('next_pid'));
  if (!prevPid || !nextPid) return undefined;
  const prevComm = F.get('prev_comm');
  const nextComm = F.get('next_comm');
  const prevPrio = u64Field(F.get('prev_prio'));
  const nextPrio = u64Field(F.get('next_prio'));
  const prevState = u64Field(F.get('prev_state'));
  return (b, o, _l, ctx, w) => {
    const pp = prevPid(b, o);
    if (prevComm) writeComm(b, o, prevComm, Number(pp), w, ctx);
    writeNum(w, pp);
    w.ch(32);
    if (prevPrio) {
      w.ch(91);
      w.int(int32(prevPrio(b, o)));
      w.str('] ');
    }
    if (prevState) w.str(taskState(Number(BigInt.asUintN(32, BigInt(prevState(b, o))))));
    w.str(' ==> ');
    const np = nextPid(b, o);
    if (nextComm) writeComm(b, o, nextComm, Number(np), w, ctx);
    writeNum(w, np);
    if (nextPrio) {
      w.str(' [');
      w.int(int32(nextPrio(b, o)));
      w.ch(93);
    }
  };
}

function schedWakeup(fmt: EventFormat): StrPiece | undefined {
  const F = fmt.fieldByName;
  const pid = u64Field(F.get('pid'));
  if (!pid) return undefined;
  const comm = F.get('comm');
  const prio = u64Field(F.get('prio'));
  const success = u64Field(F.get('success'));
  const target = u64Field(F.get('target_cpu'));
  return (b, o, _l, ctx) => {
    let s = '';
    const p = pid(b, o);
    if (comm) {
      const c = commOf(b, o, comm);
      ctx.comms.register(Number(p), c);
      s += c + ':';
    }
    s += dec(p);
    if (prio) s += ` [${dec(prio(b, o))}]`;
    if (success) s += ` success=${dec(success(b, o))}`;
    if (target) s += ` CPU:${dec(target(b, o)).padStart(3, '0')}`;
    return s;
  };
}

/** kmem: "(func+0xoff) " before the event's own text, when the call site is a known symbol. */
function kmemCallSite(fmt: EventFormat): Piece | undefined {
  const cs = u64Field(fmt.fieldByName.get('call_site'));
  if (!cs) return undefined;
  return (b, o, _l, ctx, w) => {
    const v = cs(b, o);
    const syms = ctx.symbols;
    const i = syms.indexOf(v);
    if (i < 0) return;
    // "%x" of (int)(val - addr): the low 32 bits of the offset.
    const d = syms.offsetNum(i, v);
    w.ch(40);
    w.str(syms.nameAt(i));
    w.str('+0x');
    if (d >= 0) w.uint(d % 0x100000000, 16);
    else {
      const off = syms.offsetHex(i, v);
      w.str(off.length > 8 ? off.slice(-8).replace(/^0+(?=.)/, '') : off);
    }
    w.ch(41);
    w.ch(32);
  };
}

/** hrtimer plugin's function field: "name/0x<start - addr>" or "0x%08llx". */
function funcField(f: Field | undefined): StrPiece {
  const rd = u64Field(f);
  if (!rd) return () => '';
  return (b, o, _l, ctx) => {
    const v = rd(b, o);
    const i = ctx.symbols.indexOf(v);
    if (i < 0) return ' function=0x' + toU64(v).toString(16).padStart(8, '0');
    return ` function=${ctx.symbols.nameAt(i)}/0x${BigInt.asUintN(64, ctx.symbols.addrAt(i) - BigInt(v)).toString(16)}`;
  };
}

function numField(fmt: EventFormat, names: string[], hex: boolean): StrPiece {
  for (const n of names) {
    const rd = u64Field(fmt.fieldByName.get(n));
    if (rd) return (b, o) => (hex ? '0x' + toU64(rd(b, o)).toString(16) : dec(rd(b, o)));
  }
  const last = names[names.length - 1]!;
  return () => `CAN'T FIND FIELD "${last}"`;
}

function hrtimerExpire(fmt: EventFormat): StrPiece {
  const timer = numField(fmt, ['timer', 'hrtimer'], true);
  const now = numField(fmt, ['now'], false);
  const fn = funcField(fmt.fieldByName.get('function'));
  return (b, o, l, c) => `hrtimer=${timer(b, o, l, c)} now=${now(b, o, l, c)}${fn(b, o, l, c)}`;
}

function hrtimerStart(fmt: EventFormat): StrPiece {
  const timer = numField(fmt, ['timer', 'hrtimer'], true);
  const fn = funcField(fmt.fieldByName.get('function'));
  const exp = numField(fmt, ['expires'], false);
  const soft = numField(fmt, ['softexpires'], false);
  return (b, o, l, c) => `hrtimer=${timer(b, o, l, c)}${fn(b, o, l, c)} expires=${exp(b, o, l, c)} softexpires=${soft(b, o, l, c)}`;
}

const FUTEX_OPS: [string, string | null, string | null, string | null, string | null][] = [
  ['FUTEX_WAIT', 'val=0x%08', 'utime=0x%08', null, null],
  ['FUTEX_WAKE', 'val=%u', null, null, null],
  ['FUTEX_FD', 'val=%u', null, null, null],
  ['FUTEX_REQUEUE', 'val=%u', 'val2=%u', 'uaddr2=0x%08', null],
  ['FUTEX_CMP_REQUEUE', 'val=%u', 'val2=%u', 'uaddr2=0x%08', 'val3=0x%08'],
  ['FUTEX_WAKE_OP', 'val=%u', 'val2=%u', 'uaddr2=0x%08', 'val3=0x%08'],
  ['FUTEX_LOCK_PI', null, 'utime=0x%08', null, null],
  ['FUTEX_UNLOCK_PI', null, null, null, null],
  ['FUTEX_TRYLOCK_PI', null, null, null, null],
  ['FUTEX_WAIT_BITSET', 'val=0x%08', 'utime=0x%08', null, 'val3=0x%08'],
  ['FUTEX_WAKE_BITSET', 'val=%u', null, null, 'val3=0x%08'],
  ['FUTEX_WAIT_REQUEUE_PI', 'val=0x%08', 'utime=0x%08', 'uaddr2=0x%08', 'val3=0x%08'],
  ['FUTEX_CMP_REQUEUE_PI', 'val=%u', 'val2=%u', 'uaddr2=0x%08', 'val3=0x%08'],
];

function futexArg(tmpl: string, v: Num): string {
  const eq = tmpl.indexOf('=');
  const name = tmpl.slice(0, eq + 1);
  if (tmpl.endsWith('%u')) return ` ${name}${dec(v)}`;
  return ` ${name}0x${toU64(v).toString(16).padStart(8, '0')}`;
}

/** Returns the futex text, or undefined when the plugin falls back to the event's own format. */
function futex(fmt: EventFormat): ((b: Buffer, o: number) => string | undefined) | undefined {
  const names = ['uaddr', 'op', 'val', 'utime', 'uaddr2', 'val3'];
  const rds = names.map((n) => u64Field(fmt.fieldByName.get(n)));
  if (rds.some((r) => !r)) return undefined;
  const [uaddr, op, val, utime, uaddr2, val3] = rds as ((b: Buffer, o: number) => Num)[];
  return (b, o) => {
    const opv = Number(toU64(op!(b, o)) & 0xffffffffn);
    const cmd = opv & ~(128 | 256);
    const fop = FUTEX_OPS[cmd];
    if (!fop) return undefined;
    let s = 'op=' + fop[0];
    if (opv & 128) s += '|FUTEX_PRIVATE_FLAG';
    if (opv & 256) s += '|FUTEX_CLOCK_REALTIME';
    s += ' uaddr=0x' + toU64(uaddr!(b, o)).toString(16).padStart(8, '0');
    if (fop[1]) s += futexArg(fop[1], val!(b, o));
    if (fop[2]) s += futexArg(fop[2], utime!(b, o));
    if (fop[3]) s += futexArg(fop[3], uaddr2!(b, o));
    if (fop[4]) s += futexArg(fop[4], val3!(b, o));
    return s;
  };
}

const TLB_REASONS = ['flush on task switch', 'remote shootdown', 'local shootdown', 'local mm shootdown'];

function tlbFlush(fmt: EventFormat): StrPiece {
  const pages = u64Field(fmt.fieldByName.get('pages'));
  const reason = u64Field(fmt.fieldByName.get('reason'));
  return (b, o) => {
    let s = 'pages=' + (pages ? BigInt.asIntN(64, BigInt(pages(b, o))).toString() : `CAN'T FIND FIELD "pages"`);
    if (!reason) return s + '<CANT FIND FIELD reason>';
    const r = reason(b, o);
    s += ' reason=' + (typeof r === 'number' && r < TLB_REASONS.length ? TLB_REASONS[r] : '');
    return s + ` (${BigInt.asIntN(64, BigInt(r))})`;
  };
}

const KMEM_EVENTS = new Set(['kfree', 'kmalloc', 'kmalloc_node', 'kmem_cache_alloc', 'kmem_cache_alloc_node', 'kmem_cache_free']);

/** The plugin rendering of an event, if trace-cmd has one for it. */
export function pluginFor(fmt: EventFormat, pretty: () => Piece): PluginRender | undefined {
  const key = `${fmt.system}:${fmt.name}`;
  switch (key) {
    case 'sched:sched_switch': {
      const p = schedSwitch(fmt);
      return p ? { write: p, thenPretty: false } : { piece: () => '!', thenPretty: false };
    }
    case 'sched:sched_wakeup':
    case 'sched:sched_wakeup_new': {
      const p = schedWakeup(fmt);
      return p ? { piece: p, thenPretty: false } : { piece: () => '!', thenPretty: false };
    }
    case 'timer:hrtimer_expire_entry':
      return { piece: hrtimerExpire(fmt), thenPretty: false };
    case 'timer:hrtimer_start':
      return { piece: hrtimerStart(fmt), thenPretty: false };
    case 'tlb:tlb_flush': {
      const p = tlbFlush(fmt);
      return { piece: p, thenPretty: false };
    }
    case 'syscalls:sys_enter_futex': {
      const f = futex(fmt);
      const pr = pretty();
      if (!f) return { write: pr, thenPretty: false };
      return {
        write: (b, o, l, c, w) => {
          const s = f(b, o);
          if (s === undefined) pr(b, o, l, c, w);
          else w.str(s);
        },
        thenPretty: false,
      };
    }
  }
  if (fmt.system === 'kmem' && KMEM_EVENTS.has(fmt.name)) {
    const p = kmemCallSite(fmt);
    if (p) return { write: p, thenPretty: true };
  }
  return undefined;
}
