/** What rendering needs besides the record: task names and kernel symbols of the trace. */
import { KernelSymbols } from '../kallsyms.js';

/** pid → comm, from saved_cmdlines (events/cmdlines.ts), grown by the sched plugins as trace-cmd's are (first name wins). */
export class CommTable {
  private readonly map = new Map<number, string>();

  /** base: the trace's own names, looked up in place (a file's saved_cmdlines hold thousands; a copy cost a report's start-up). */
  constructor(private readonly base: ReadonlyMap<number, string> = new Map()) {}

  static fromMap(map: ReadonlyMap<number, string>): CommTable {
    return new CommTable(map);
  }

  /** The name trace-cmd shows for pid: <idle> for 0, <...> when unknown. */
  get(pid: number): string {
    if (pid === 0) return '<idle>';
    return this.map.get(pid) ?? this.base.get(pid) ?? '<...>';
  }

  has(pid: number): boolean {
    return pid === 0 || this.map.has(pid) || this.base.has(pid);
  }

  register(pid: number, comm: string): void {
    if (pid !== 0 && !this.map.has(pid) && !this.base.has(pid)) this.map.set(pid, comm);
  }

  /** A name read again from the kernel (a live stream): it replaces the one known. */
  replace(pid: number, comm: string): void {
    if (pid !== 0) this.map.set(pid, comm);
  }
}

export interface RenderContext {
  comms: CommTable;
  symbols: KernelSymbols;
  /** printk format strings by address (trace_printk / %s of a pointer). */
  printk?: ReadonlyMap<bigint, string>;
}

export function emptyContext(): RenderContext {
  return { comms: new CommTable(), symbols: new KernelSymbols() };
}
