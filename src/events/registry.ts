import type { EventFormat } from './format.js';

/** The event formats of one kernel or one trace file, by id and by system:name. */
export class EventRegistry {
  private readonly byId = new Map<number, EventFormat>();
  private readonly byName = new Map<string, EventFormat>();

  add(fmt: EventFormat): void {
    this.byId.set(fmt.id, fmt);
    this.byName.set(`${fmt.system}:${fmt.name}`, fmt);
  }

  get(id: number): EventFormat | undefined {
    return this.byId.get(id);
  }

  find(system: string, name: string): EventFormat | undefined {
    return this.byName.get(`${system}:${name}`);
  }

  /** Finds an event by bare name when no system is given (first match). */
  findByName(name: string): EventFormat | undefined {
    for (const f of this.byId.values()) if (f.name === name) return f;
    return undefined;
  }

  all(): EventFormat[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
