/** Looking up the events and fields an analysis needs in a trace's formats, tolerating absent ones. */
import type { EventFormat, Field } from '../events/format.js';
import type { EventRegistry } from '../events/registry.js';
import type { TraceEvent } from './event.js';

/** The named fields of one event format; undefined if the event or any field is missing. */
export function bindFields<K extends string>(reg: EventRegistry, system: string, name: string, fields: readonly K[]): (Record<K, Field> & { fmt: EventFormat }) | undefined {
  const fmt = reg.find(system, name);
  if (!fmt) return undefined;
  const out = { fmt } as Record<K, Field> & { fmt: EventFormat };
  for (const f of fields) {
    const field = fmt.fieldByName.get(f);
    if (!field) return undefined;
    (out as Record<string, Field>)[f] = field;
  }
  return out;
}

export type Handler = (ev: TraceEvent) => void;

/** Event id → handler, for one dispatch per record (ids are u16: an array lookup, no hashing). */
export class Dispatch {
  private readonly table: (Handler | undefined)[] = [];

  on(fmt: Pick<EventFormat, 'id'> | undefined, h: Handler): void {
    if (!fmt) return;
    const old = this.table[fmt.id];
    this.table[fmt.id] = old
      ? (ev) => {
          old(ev);
          h(ev);
        }
      : h;
  }

  /** Binds the event's fields and registers h with them, when the trace has the event. */
  bind<K extends string>(reg: EventRegistry, system: string, name: string, fields: readonly K[], h: (ev: TraceEvent, f: Record<K, Field>) => void): boolean {
    const b = bindFields(reg, system, name, fields);
    if (!b) return false;
    this.on(b.fmt, (ev) => h(ev, b));
    return true;
  }

  run(ev: TraceEvent): void {
    const id = ev.id;
    if (id < 0) return;
    const h = this.table[id];
    if (h !== undefined) h(ev);
  }

}

export const SOFTIRQ_NAMES = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'];

/** "0xffff..." for an address. */
export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}
