import { formatIdentity, parseFormat, type EventFormat } from './format.js';

/** A format whose text is kept and parsed on first use (a trace file holds thousands, a report needs a few). */
class Deferred {
  constructor(
    readonly id: number,
    readonly system: string,
    readonly name: string,
    readonly text: string,
  ) {}
}

/** The event formats of one kernel or one trace file, by id and by system:name. */
export class EventRegistry {
  private readonly byId = new Map<number, EventFormat | Deferred>();
  private readonly byName = new Map<string, EventFormat | Deferred>();

  add(fmt: EventFormat): void {
    this.byId.set(fmt.id, fmt);
    this.byName.set(`${fmt.system}:${fmt.name}`, fmt);
  }

  /** Adds a format file's text, parsed when first asked for; throws as parseFormat does when it has no name or ID. */
  addText(text: string, system: string): void {
    const { id, name } = formatIdentity(text);
    const d = new Deferred(id, system, name, text);
    this.byId.set(id, d);
    this.byName.set(`${system}:${name}`, d);
  }

  private parsed(e: EventFormat | Deferred | undefined): EventFormat | undefined {
    if (!(e instanceof Deferred)) return e;
    const fmt = parseFormat(e.text, e.system);
    if (this.byId.get(e.id) === e) this.byId.set(e.id, fmt);
    const key = `${e.system}:${e.name}`;
    if (this.byName.get(key) === e) this.byName.set(key, fmt);
    return fmt;
  }

  get(id: number): EventFormat | undefined {
    return this.parsed(this.byId.get(id));
  }

  find(system: string, name: string): EventFormat | undefined {
    return this.parsed(this.byName.get(`${system}:${name}`));
  }

  /** Finds an event by bare name when no system is given (first match). */
  findByName(name: string): EventFormat | undefined {
    for (const f of this.byId.values()) if (f.name === name) return this.parsed(f);
    return undefined;
  }

  /** Id, system and name of every format, none of them parsed (for picking events by name). */
  identities(): { id: number; system: string; name: string }[] {
    return [...this.byId.values()];
  }

  all(): EventFormat[] {
    return [...this.byId.values()].map((f) => this.parsed(f)!);
  }

  get size(): number {
    return this.byId.size;
  }
}
