/**
 * Parser of a print format ("fmt", args) into expressions. It builds the argument trees the way
 * libtraceevent does, quirks included (a parenthesized operation is re-associated with the
 * operator before it when that one binds tighter; `a ? b : c op d` groups as `(a ? b : c) op d`),
 * because trace-cmd's output follows those trees. What libtraceevent cannot parse throws
 * PrintFmtError, and the event is then shown as trace-cmd shows a failed one.
 */
import type { EventFormat, Field } from '../format.js';
import type { Expr, FlagSym, ParsedPrintFmt } from './ast.js';
import { tokenize, type Token } from './lexer.js';
import { castMask, parseCUnsigned } from './num.js';

export class PrintFmtError extends Error {}

/** Functions trace-cmd's plugins register, with their argument counts. */
export const PLUGIN_FUNCTIONS: ReadonlyMap<string, number> = new Map([
  ['jiffies_to_msecs', 1],
  ['jbd2_dev_to_name', 1],
  ['__le16_to_cpup', 1],
]);

/** Names libtraceevent knows for symbolic values the kernel left unexpanded (eval_flag). */
const KNOWN_FLAGS: ReadonlyMap<string, bigint> = new Map([
  ['HI_SOFTIRQ', 0n], ['TIMER_SOFTIRQ', 1n], ['NET_TX_SOFTIRQ', 2n], ['NET_RX_SOFTIRQ', 3n], ['BLOCK_SOFTIRQ', 4n],
  ['IRQ_POLL_SOFTIRQ', 5n], ['TASKLET_SOFTIRQ', 6n], ['SCHED_SOFTIRQ', 7n], ['HRTIMER_SOFTIRQ', 8n], ['RCU_SOFTIRQ', 9n],
  ['HRTIMER_NORESTART', 0n], ['HRTIMER_RESTART', 1n],
]);

/** libtraceevent's operator priorities (smaller binds tighter). */
function opPrio(op: string): number {
  if (op.length === 1) {
    switch (op) {
      case '~': case '!': return 4;
      case '*': case '/': case '%': return 6;
      case '+': case '-': return 7;
      case '<': case '>': return 9;
      case '&': return 11;
      case '^': return 12;
      case '|': return 13;
      case '?': return 16;
      default: return -1;
    }
  }
  switch (op) {
    case '++': case '--': return 3;
    case '>>': case '<<': return 8;
    case '>=': case '<=': return 9;
    case '==': case '!=': return 10;
    case '&&': return 14;
    case '||': return 15;
    default: return -1;
  }
}

const BINARY = new Set(['>>', '<<', '&', '|', '&&', '||', '-', '+', '*', '^', '/', '%', '<', '>', '<=', '>=', '==', '!=']);

/** A node while parsing: mutable, as libtraceevent rewrites nodes in place. */
interface PArg {
  t: 'null' | 'atom' | 'op' | 'type' | 'leaf';
  text?: string;
  quoted?: boolean;
  op?: string;
  left?: PArg;
  right?: PArg;
  prio?: number;
  item?: PArg;
  leaf?: Expr;
}

type TKind = Token['kind'] | 'none';

function fresh(): PArg {
  return { t: 'null' };
}

const NODE_KEYS: (keyof PArg)[] = ['text', 'quoted', 'op', 'left', 'right', 'prio', 'item', 'leaf'];

/** Rewrites a node in place (libtraceevent turns an operand into the operator that takes it). */
function assign(dst: PArg, src: PArg): void {
  for (const k of NODE_KEYS) (dst as unknown as Record<string, unknown>)[k] = undefined;
  Object.assign(dst, src);
}

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Token[],
    private readonly fmt: EventFormat,
  ) {}

  read(): [TKind, string] {
    const t = this.toks[this.pos];
    if (!t) return ['none', ''];
    this.pos++;
    return [t.kind, t.text];
  }

  expectTok(kind: TKind, text: string, got: [TKind, string]): void {
    if (got[0] !== kind || got[1] !== text) throw new PrintFmtError(`expected '${text}', got '${got[1] || 'end'}'`);
  }

  field(name: string): Field {
    const f = this.fmt.fieldByName.get(name);
    if (!f) throw new PrintFmtError(`no field ${name}`);
    return f;
  }

  /** process_arg: reads a token and parses one operand from it. */
  arg(a: PArg): [TKind, string] {
    return this.argToken(a, this.read());
  }

  argToken(a: PArg, tok: [TKind, string]): [TKind, string] {
    const [kind, text] = tok;
    if (kind === 'item') {
      if (text === 'REC') return this.entry(a);
      let next = this.read();
      if (next[0] === 'delim' && next[1] === '(') return this.func(a, text);
      let atom = text;
      while (next[0] === 'item') {
        atom += ' ' + next[1];
        next = this.read();
      }
      assign(a, { t: 'atom', text: atom });
      return next;
    }
    if (kind === 'dquote' || kind === 'squote') {
      assign(a, { t: 'atom', text, quoted: true });
      return this.read();
    }
    if (kind === 'delim' && text === '(') return this.paren(a);
    if (kind === 'op' || kind === 'delim') {
      assign(a, { t: 'op', op: text, prio: 0 });
      return this.opFrom(a, tok);
    }
    throw new PrintFmtError('unexpected end of print fmt');
  }

  /** process_entry: after REC, "->field" (or ")" when REC sits in parentheses). */
  entry(a: PArg): [TKind, string] {
    const t = this.read();
    if (t[0] === 'delim' && t[1] === ')') return ['item', ')'];
    this.expectTok('op', '->', t);
    const name = this.read();
    if (name[0] !== 'item') throw new PrintFmtError('expected a field name after REC->');
    assign(a, { t: 'leaf', leaf: { k: 'field', field: this.field(name[1]) } });
    return this.read();
  }

  /** process_op: the operator in tok applies to a (a is its left side, or a lone unary op). */
  opFrom(a: PArg, tok: [TKind, string]): [TKind, string] {
    const token = tok[1];
    let right: PArg | undefined;
    let next: [TKind, string];
    if (a.t === 'op' && !a.left) {
      if (!['~', '!', '+', '-'].includes(token)) throw new PrintFmtError(`bad op token ${token}`);
      a.left = fresh();
      right = a.right = fresh();
      next = this.arg(right);
    } else if (token === '?') {
      const left = { ...a };
      assign(a, { t: 'op', op: '?', left, prio: 0 });
      next = this.cond(a);
    } else if (BINARY.has(token)) {
      const left = { ...a };
      const prio = left.t === 'null' ? 0 : opPrio(token);
      assign(a, { t: 'op', op: token, left, prio });
      next = this.read();
      if (token === '*' && next[0] === 'delim' && next[1] === ')') {
        if (left.t !== 'atom') throw new PrintFmtError('bad pointer type');
        assign(a, { ...left, text: left.text + ' *' });
        return next;
      }
      right = fresh();
      next = this.argToken(right, next);
      if (right.t === 'op' && opPrio(token) < opPrio(right.op!)) {
        // libtraceevent re-associates: (a OP r.left) r.op r.right, even when r was parenthesized.
        const mine: PArg = { ...a, right: right.left };
        const theirs: PArg = { ...right };
        assign(a, { ...theirs, left: mine });
        right = mine;
      } else a.right = right;
    } else if (token === '[') {
      const left = { ...a };
      assign(a, { t: 'op', op: '[', left, prio: 0 });
      const idx = fresh();
      const t = this.arg(idx);
      this.expectTok('op', ']', t);
      a.right = idx;
      next = this.read();
    } else {
      throw new PrintFmtError(`unknown op '${token}'`);
    }
    if (next[0] === 'op' && next[1] !== ':' && next[1] !== '') {
      const prio = opPrio(next[1]);
      if (prio > (a.prio ?? 0)) return this.opFrom(a, next);
      if (!right) throw new PrintFmtError(`unexpected '${next[1]}'`);
      return this.opFrom(right, next);
    }
    return next;
  }

  /** process_cond: after '?': the true branch (with its operators), ':', one operand. */
  cond(top: PArg): [TKind, string] {
    const left = fresh();
    const right = fresh();
    let t = this.arg(left);
    while (t[0] === 'op' && t[1] !== ':' && t[1] !== '') t = this.opFrom(left, t);
    this.expectTok('op', ':', t);
    top.right = { t: 'op', op: ':', left, right, prio: 0 };
    return this.arg(right);
  }

  /** process_paren: a group, "(REC)->field", or a type cast when an operand follows. */
  paren(a: PArg): [TKind, string] {
    let t = this.arg(a);
    if (t[0] === 'op' && t[1] !== '') t = this.opFrom(a, t);
    if (t[0] === 'item' && t[1] === ')') return this.entry(a);
    this.expectTok('delim', ')', t);
    const next = this.read();
    if (next[0] === 'item' || next[0] === 'dquote' || next[0] === 'squote' || (next[0] === 'delim' && next[1] === '(')) {
      if (a.t !== 'atom') throw new PrintFmtError('a cast needs a type name');
      const item = fresh();
      const type = a.text!;
      assign(a, { t: 'type', text: type, item });
      return this.argToken(item, next);
    }
    return next;
  }

  /** process_field_arg: an operand and all its operators. */
  fullArg(a: PArg): [TKind, string] {
    let t = this.arg(a);
    while (t[0] === 'op' && t[1] !== '') t = this.opFrom(a, t);
    return t;
  }

  /** alloc_and_process_delim: one argument up to the given delimiter, constants folded. */
  delimArg(delim: string): Expr {
    const a = fresh();
    let t = this.arg(a);
    if (t[0] === 'op' && t[1] !== '') t = this.opFrom(a, t);
    this.expectTok('delim', delim, t);
    return fold(toExpr(a));
  }

  fieldName(): Field {
    const t = this.read();
    if (t[0] !== 'item') throw new PrintFmtError('expected a field name');
    this.expectTok('delim', ')', this.read());
    return this.field(t[1]);
  }

  func(a: PArg, name: string): [TKind, string] {
    const leaf = (e: Expr): void => assign(a, { t: 'leaf', leaf: e });
    switch (name) {
      case '__print_flags':
      case '__print_symbolic': {
        const f = fresh();
        const t = this.fullArg(f);
        this.expectTok('delim', ',', t);
        let delim = '';
        if (name === '__print_flags') {
          let d = this.read();
          if (d[0] === 'item' || d[0] === 'dquote' || d[0] === 'squote') {
            delim = d[1];
            d = this.read();
          }
          this.expectTok('delim', ',', d);
        }
        const [table, end] = this.flagTable();
        this.expectTok('delim', ')', end);
        const e = toExpr(f);
        leaf(name === '__print_flags' ? { k: 'flags', e, delim, table } : { k: 'symbolic', e, table });
        return this.read();
      }
      case '__print_hex':
      case '__print_hex_str': {
        const e = this.delimArg(',');
        const len = this.delimArg(')');
        leaf({ k: 'hex', e, len, str: name === '__print_hex_str' });
        return this.read();
      }
      case '__print_array': {
        const e = this.delimArg(',');
        const count = this.delimArg(',');
        const elSize = this.delimArg(')');
        leaf({ k: 'array', e, count, elSize });
        return this.read();
      }
      case '__get_str':
      case '__get_rel_str':
        leaf({ k: 'getstr', field: this.fieldName() });
        return this.read();
      case '__get_bitmask':
      case '__get_rel_bitmask':
        leaf({ k: 'bitmask', field: this.fieldName(), cpumask: false });
        return this.read();
      case '__get_cpumask':
      case '__get_rel_cpumask':
        leaf({ k: 'bitmask', field: this.fieldName(), cpumask: true });
        return this.read();
      case '__get_dynamic_array':
      case '__get_rel_dynamic_array':
      case '__get_sockaddr':
      case '__get_sockaddr_rel': {
        leaf({ k: 'dynarray', field: this.fieldName() });
        const t = this.read();
        if (t[0] === 'op' && t[1] === '[') throw new PrintFmtError('indexing a dynamic array');
        return t;
      }
      case '__get_dynamic_array_len':
      case '__get_rel_dynamic_array_len':
        leaf({ k: 'dynlen', field: this.fieldName() });
        return this.read();
      case '__builtin_expect': {
        const t = this.arg(a);
        this.expectTok('delim', ',', t);
        if (this.read()[0] !== 'item') throw new PrintFmtError('__builtin_expect: expected an item');
        this.expectTok('delim', ')', this.read());
        return this.read();
      }
      case 'sizeof':
        leaf(this.sizeOf());
        return this.read();
      default: {
        const n = PLUGIN_FUNCTIONS.get(name);
        if (n === undefined) throw new PrintFmtError(`function ${name} not defined`);
        const args: Expr[] = [];
        for (let i = 0; i < n; i++) {
          const fa = fresh();
          const t = this.arg(fa);
          this.expectTok('delim', i < n - 1 ? ',' : ')', t);
          args.push(toExpr(fa));
        }
        leaf({ k: 'call', name, args });
        return this.read();
      }
    }
  }

  /** process_sizeof: sizeof(int), sizeof(unsigned ...), sizeof(long [long]), sizeof(REC->field). */
  sizeOf(): Expr {
    let t = this.read();
    let size: number | undefined;
    let readNext = true;
    if (t[1] === 'unsigned') {
      t = this.read();
      if (t[0] !== 'item') {
        size = 4;
        readNext = false;
      }
    }
    if (size === undefined) {
      if (t[1] === 'int') size = 4;
      else if (t[1] === 'long') {
        t = this.read();
        if (t[1] === 'long') size = 8;
        else {
          size = 8;
          readNext = false;
        }
      } else if (t[1] === 'REC') {
        this.expectTok('op', '->', this.read());
        const name = this.read();
        const f = this.field(name[1]);
        if (f.arrayLen >= 0) throw new PrintFmtError('sizeof an array field');
        size = f.size;
      } else throw new PrintFmtError(`sizeof(${t[1]}) not understood`);
    }
    if (readNext) t = this.read();
    this.expectTok('delim', ')', t);
    return { k: 'num', v: BigInt(size), text: String(size) };
  }

  /** process_fields: "{ value, "text" }, ..." up to what follows the last entry. */
  flagTable(): [FlagSym[], [TKind, string]] {
    const table: FlagSym[] = [];
    for (;;) {
      this.expectTok('op', '{', this.read());
      const v = fresh();
      let t = this.arg(v);
      if (t[0] === 'op' && t[1] !== '') t = this.opFrom(v, t);
      this.expectTok('delim', ',', t);
      const valueText = argEval(v);
      const s = fresh();
      t = this.arg(s);
      this.expectTok('op', '}', t);
      table.push({ value: evalFlag(valueText), str: argEval(s) });
      const next = this.read();
      if (!(next[0] === 'delim' && next[1] === ',')) return [table, next];
    }
  }
}

/** eval_flag: numbers as written, a few known names, -1 for anything else. */
function evalFlag(text: string): bigint {
  if (/^[0-9]/.test(text)) return BigInt.asIntN(64, parseCUnsigned(text));
  return KNOWN_FLAGS.get(text) ?? -1n;
}

const LLONG_MAX = (1n << 63n) - 1n;
const LLONG_MIN = -(1n << 63n);

function strtoll(text: string): bigint {
  const m = /^\s*([-+]?)/.exec(text)!;
  const neg = m[1] === '-';
  const mag = parseCUnsigned(text.slice(m[0].length));
  if (neg) return -mag < LLONG_MIN ? LLONG_MIN : -mag;
  return mag > LLONG_MAX ? LLONG_MAX : mag;
}

/** arg_eval: the text of a flag table value or string. */
function argEval(a: PArg): string {
  switch (a.t) {
    case 'atom':
      return a.text!;
    case 'type':
      return argEval(a.item!);
    case 'op':
      return argNumEval(a).toString();
    default:
      throw new PrintFmtError('flag table entry is not constant');
  }
}

/** arg_num_eval: signed 64-bit arithmetic over the operators libtraceevent evaluates here. */
function argNumEval(a: PArg): bigint {
  const b = (x: boolean): bigint => (x ? 1n : 0n);
  const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
  switch (a.t) {
    case 'atom':
      return strtoll(a.text!);
    case 'type': {
      const v = argNumEval(a.item!);
      const bits = castMask(a.text!);
      return bits ? BigInt.asUintN(bits, v) : v;
    }
    case 'op': {
      const op = a.op!;
      const L = (): bigint => (a.left && a.left.t !== 'null' ? argNumEval(a.left) : 0n);
      const R = (): bigint => argNumEval(a.right!);
      switch (op) {
        case '|': return L() | R();
        case '||': return b(L() !== 0n || R() !== 0n);
        case '&': return L() & R();
        case '&&': return b(L() !== 0n && R() !== 0n);
        case '<': return b(L() < R());
        case '<<': return s64(L() << (R() & 63n));
        case '<=': return b(L() <= R());
        case '>': return b(L() > R());
        case '>>': return L() >> (R() & 63n);
        case '>=': return b(L() >= R());
        case '==': return b(L() === R());
        case '!=': return b(L() !== R());
        case '-': return s64(L() - R());
        case '+': return s64(L() + R());
        case '~': return s64(~R());
        default: throw new PrintFmtError(`unknown op '${op}' in a constant`);
      }
    }
    default:
      throw new PrintFmtError('not a constant');
  }
}

function toExpr(a: PArg): Expr {
  switch (a.t) {
    case 'atom': {
      const text = a.text!;
      if (a.quoted) return { k: 'str', s: text };
      if (/^[0-9]/.test(text)) return { k: 'num', v: parseCUnsigned(text), text };
      return { k: 'atom', text };
    }
    case 'type':
      return { k: 'cast', type: a.text!, e: toExpr(a.item!) };
    case 'leaf':
      return a.leaf!;
    case 'op': {
      const op = a.op!;
      if (!a.left || a.left.t === 'null') return { k: 'unary', op, e: toExpr(a.right!) };
      if (op === '?') {
        const r = a.right!;
        return { k: 'cond', c: toExpr(a.left), t: toExpr(r.left!), f: toExpr(r.right!) };
      }
      if (op === '[') return { k: 'index', base: toExpr(a.left), idx: toExpr(a.right!) };
      return { k: 'bin', op, l: toExpr(a.left), r: toExpr(a.right!) };
    }
    default:
      throw new PrintFmtError('empty argument');
  }
}

/** consolidate_op_arg: operations on two constants are done once, in unsigned 64-bit arithmetic. */
function fold(e: Expr): Expr {
  if (e.k !== 'bin') return e;
  const l = fold(e.l);
  const r = fold(e.r);
  if (l.k !== 'num' || r.k !== 'num') return { ...e, l, r };
  const x = l.v;
  const y = r.v;
  const b = (c: boolean): bigint => (c ? 1n : 0n);
  let v: bigint;
  switch (e.op) {
    case '>>': v = y > 63n ? 0n : x >> y; break;
    case '>=': v = b(x >= y); break;
    case '>': v = b(x > y); break;
    case '<<': v = y > 63n ? 0n : x << y; break;
    case '<=': v = b(x <= y); break;
    case '<': v = b(x < y); break;
    case '&&': v = b(x !== 0n && y !== 0n); break;
    case '&': v = x & y; break;
    case '||': v = b(x !== 0n || y !== 0n); break;
    case '|': v = x | y; break;
    case '-': v = x - y; break;
    case '+': v = x + y; break;
    case '*': v = x * y; break;
    case '^': v = x ^ y; break;
    case '/': v = y === 0n ? 0n : x / y; break;
    case '%': v = y === 0n ? 0n : x % y; break;
    case '==': v = b(x === y); break;
    case '!=': v = b(x !== y); break;
    default: return { ...e, l, r };
  }
  const u = BigInt.asUintN(64, v);
  return { k: 'num', v: u, text: BigInt.asIntN(64, u).toString() };
}

/** Splits `"fmt" ["more"], arg, arg...` into the format string (escapes kept) and the argument expressions. */
export function parsePrintFmt(fmt: EventFormat): ParsedPrintFmt {
  const p = new Parser(tokenize(fmt.printFmt), fmt);
  let t = p.read();
  if (t[0] !== 'dquote') throw new PrintFmtError('print fmt does not start with a string');
  let format = t[1];
  t = p.read();
  while (t[0] === 'dquote') {
    format += t[1];
    t = p.read();
  }
  const args: Expr[] = [];
  if (t[0] === 'none') return { format, args };
  p.expectTok('delim', ',', t);
  for (;;) {
    const a = fresh();
    t = p.arg(a);
    if (t[0] === 'op' && t[1] !== '') t = p.opFrom(a, t);
    args.push(fold(toExpr(a)));
    if (t[0] === 'none') break;
    if (!(t[0] === 'delim' && t[1] === ',')) {
      // libtraceevent keeps reading after an operator chain; anything else ends the list.
      if (t[0] === 'op' || t[0] === 'delim') throw new PrintFmtError(`unexpected '${t[1]}' after an argument`);
      break;
    }
  }
  return { format, args };
}

