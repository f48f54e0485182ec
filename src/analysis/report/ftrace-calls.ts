/**
 * The function tracers' events as `trace-cmd report` 3.1.6 prints them, written here from what it
 * prints (its function plugin and its function_graph handlers), not from their code:
 * - ftrace:function: the function's name, indented 3 spaces a level by the caller chain seen on its
 *   CPU (the parent is not printed: the plugin's "parent" option is off by default);
 * - ftrace:funcgraph_entry: "func() {" with no time, or, when the next record of its buffer is the
 *   same task's funcgraph_exit of the same function, "func();" with that call's duration, the exit
 *   then not printed (a leaf call on one line);
 * - ftrace:funcgraph_exit: the duration and "}".
 * The leaf rule needs the record after an entry: fold() holds an entry (and what other buffers
 * record meanwhile) until its buffer's next record comes.
 */
import type { EventFormat, Field } from '../../events/format.js';
import type { RenderContext } from '../../events/printfmt/context.js';
import { readNum, toU64, u16le, type Num } from '../../events/printfmt/num.js';
import type { TextWriter } from '../../events/printfmt/writer.js';
import type { EventRegistry } from '../../events/registry.js';
import type { MergeVisitor } from '../../ringbuf/merge.js';

type Read = (b: Buffer, off: number) => Num;

function reader(fmt: EventFormat, name: string): Read | undefined {
  const f: Field | undefined = fmt.fieldByName.get(name);
  if (!f || ![1, 2, 4, 8].includes(f.size)) return undefined;
  return (b, off) => readNum(b, off + f.offset, f.size);
}

/** A function's name, else its address: "0x%llx" in the function plugin, "%llx" in the graph's. */
function funcName(ctx: RenderContext, addr: Num): string | undefined {
  const i = ctx.symbols.indexOf(addr);
  return i < 0 ? undefined : ctx.symbols.nameAt(i);
}

/** The graph's time columns: an overhead mark, then "<us>.<ns> us " padded to the "|  " column. */
export function graphDuration(d: bigint): string {
  const mark = d > 1_000_000_000n ? '$ ' : d > 1_000_000n ? '# ' : d > 100_000n ? '! ' : d > 10_000n ? '+ ' : '  ';
  let t = String(d / 1000n);
  if (t.length < 7) t += '.' + String(d % 1000n).padStart(3, '0');
  return mark + t + ' us ' + ' '.repeat(Math.max(0, 7 - t.length)) + '|  ';
}

/** "(int)(depth * 2)" spaces. */
function indent(depth: Num): string {
  const n = Number(BigInt.asIntN(32, toU64(depth) * 2n));
  return n > 0 ? ' '.repeat(n) : '';
}

/** A record held back: its bytes copied (the page it came on may be reused by then). */
interface Held {
  input: number;
  ts: number;
  b: Buffer;
  missed: number;
  /** An entry whose line is not decided yet; undefined for other records. */
  open?: { buffer: string; pid: Num; func: Num };
  /** The exit a leaf entry prints its duration from. */
  exit?: Buffer;
}

/** The fields these renderings read, per event (undefined: the event or a field is missing). */
interface Fields {
  fn: { id: number; ip?: Read; parent?: Read } | undefined;
  entry: { id: number; func?: Read; depth?: Read; pid?: Read } | undefined;
  exit: { id: number; func?: Read; depth?: Read; pid?: Read; call?: Read; ret?: Read } | undefined;
}

function fieldsOf(registry: EventRegistry): Fields {
  const fn = registry.find('ftrace', 'function');
  const entry = registry.find('ftrace', 'funcgraph_entry');
  const exit = registry.find('ftrace', 'funcgraph_exit');
  const graph = (f: EventFormat) => ({ id: f.id, func: reader(f, 'func'), depth: reader(f, 'depth'), pid: reader(f, 'common_pid') });
  return {
    fn: fn && { id: fn.id, ip: reader(fn, 'ip'), parent: reader(fn, 'parent_ip') },
    entry: entry && graph(entry),
    exit: exit && { ...graph(exit), call: reader(exit, 'calltime'), ret: reader(exit, 'rettime') },
  };
}

export class FtraceCalls {
  private readonly f: Fields;
  /** The caller chain per CPU (the function plugin's "indent" option, on by default). */
  private readonly chains: (string | undefined)[][] = [];
  /** The exit the entry being rendered folds in (a leaf call). */
  private leafExit: Buffer | undefined;
  /** Whether a record of these events was rendered: its text depends on the records before it. */
  history = false;

  constructor(
    registry: EventRegistry,
    private readonly cpuOf: (input: number) => number,
    private readonly bufferOf: (input: number) => string,
  ) {
    this.f = fieldsOf(registry);
  }

  /** Whether this renders an event id's text. */
  renders(id: number): boolean {
    return id === this.f.fn?.id || id === this.f.entry?.id || id === this.f.exit?.id;
  }

  /** Writes the text after the name column of a record this renders. */
  body(id: number, b: Buffer, off: number, ctx: RenderContext, w: TextWriter, input: number): void {
    this.history = true;
    if (id === this.f.fn?.id) w.str(this.functionText(b, off, ctx, this.cpuOf(input)));
    else if (id === this.f.entry?.id) w.str(this.entryText(b, off, ctx));
    else w.str(this.exitText(b, off));
  }

  private functionText(b: Buffer, off: number, ctx: RenderContext, cpu: number): string {
    const { ip, parent } = this.f.fn!;
    if (!ip || !parent) return '!';
    const at = ip(b, off);
    const func = funcName(ctx, at);
    const caller = funcName(ctx, parent(b, off));
    const level = caller !== undefined ? this.level(caller, func, cpu) : 0;
    return ' '.repeat(level * 3) + (func ?? '0x' + toU64(at).toString(16));
  }

  /**
   * How deep a call is on its CPU: where its caller stands in the chain seen there (the call then
   * takes the place after it), else 0 and the chain starts again from the caller.
   */
  private level(parent: string, func: string | undefined, cpu: number): number {
    if (cpu < 0) return 0;
    const chain = (this.chains[cpu] ??= []);
    const put = (at: number, name: string | undefined) => {
      if (name !== undefined) chain[at] = name;
    };
    for (let i = 0; i < chain.length && chain[i] !== undefined; i++) {
      if (chain[i] === parent) {
        put(i + 1, func);
        return i;
      }
    }
    put(0, parent);
    put(1, func);
    return 0;
  }

  private entryText(b: Buffer, off: number, ctx: RenderContext): string {
    const { func, depth } = this.f.entry!;
    const exit = this.leafExit;
    let head: string;
    if (exit) {
      const d = this.duration(exit, 0);
      if (d === undefined) return '!';
      head = graphDuration(d);
    } else head = '  ' + '           |  ';
    if (!depth || !func) return head + '!';
    const at = func(b, off);
    const name = funcName(ctx, at) ?? toU64(at).toString(16);
    return head + indent(depth(b, off)) + name + (exit ? '();' : '() {');
  }

  private exitText(b: Buffer, off: number): string {
    const d = this.duration(b, off);
    if (d === undefined) return '!';
    const { depth } = this.f.exit!;
    return graphDuration(d) + (depth ? indent(depth(b, off)) + '}' : '!');
  }

  private duration(b: Buffer, off: number): bigint | undefined {
    const { call, ret } = this.f.exit!;
    if (!ret || !call) return undefined;
    return BigInt.asUintN(64, toU64(ret(b, off)) - toU64(call(b, off)));
  }

  /**
   * The visitor that prints records through `print` with the graph's leaf calls folded: an entry
   * waits for its buffer's next record; the exit that makes it a leaf is not printed (unless a loss
   * was flagged on it: the loss line keeps the counts exact). flush() prints what still waits.
   */
  fold(print: MergeVisitor): { visit: MergeVisitor; flush: () => void } {
    const { entry, exit } = this.f;
    if (!entry?.func || !entry.pid || !exit?.func || !exit.pid) return { visit: print, flush: () => {} };
    const [entryId, entryFunc, entryPid] = [entry.id, entry.func, entry.pid];
    const [exitId, exitFunc, exitPid] = [exit.id, exit.func, exit.pid];
    const queue: Held[] = [];
    const release = () => {
      while (queue.length && !queue[0]!.open) {
        const h = queue.shift()!;
        this.leafExit = h.exit;
        try {
          print(h.input, h.ts, h.b, 0, h.b.length, h.missed);
        } finally {
          this.leafExit = undefined;
        }
      }
    };
    const visit: MergeVisitor = (input, ts, b, off, len, missed) => {
      const id = u16le(b, off);
      // Nearly every record: nothing held, not an entry.
      if (!queue.length && id !== entryId) return print(input, ts, b, off, len, missed);
      const buffer = this.bufferOf(input);
      const waiting = queue.find((h) => h.open?.buffer === buffer);
      if (waiting) {
        const o = waiting.open!;
        waiting.open = undefined;
        if (id === exitId && missed === 0 && exitPid(b, off) === o.pid && exitFunc(b, off) === o.func) {
          waiting.exit = Buffer.from(b.subarray(off, off + len));
          release();
          return;
        }
        release();
      }
      if (id === entryId) {
        queue.push({ input, ts, b: Buffer.from(b.subarray(off, off + len)), missed, open: { buffer, pid: entryPid(b, off), func: entryFunc(b, off) } });
        return;
      }
      if (!queue.length) return print(input, ts, b, off, len, missed);
      queue.push({ input, ts, b: Buffer.from(b.subarray(off, off + len)), missed });
    };
    const flush = () => {
      for (const h of queue) h.open = undefined;
      release();
    };
    return { visit, flush };
  }
}
