import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';
import { builtinMaskset, builtinMasksets } from './builtin.js';
import { masksetDir } from '../base/config.js';
import { MASKSET_NAME_RE, type Maskset, type MasksetEntry } from './model.js';
import { parseMaskset } from './parse.js';

const EXT = '.maskset';

function checkName(name: string): void {
  if (!MASKSET_NAME_RE.test(name)) throw new LkstError(`bad maskset name '${name}'`, 'use letters, digits, -, _ and .');
}

/** The masksets of one config directory (one readable file each) plus the built-in ones. */
export class MasksetStore {
  constructor(readonly dir: string = masksetDir()) {}

  path(name: string): string {
    return join(this.dir, name + EXT);
  }

  /** Names of all masksets, built-in first. */
  list(): { name: string; builtin: boolean }[] {
    const files = existsSync(this.dir)
      ? readdirSync(this.dir)
          .filter((f) => f.endsWith(EXT))
          .map((f) => f.slice(0, -EXT.length))
          .sort()
      : [];
    return [...builtinMasksets().map((m) => ({ name: m.name, builtin: true })), ...files.map((name) => ({ name, builtin: false }))];
  }

  isBuiltin(name: string): boolean {
    return builtinMaskset(name) !== undefined;
  }

  exists(name: string): boolean {
    return this.isBuiltin(name) || existsSync(this.path(name));
  }

  /** The maskset as written (includes not expanded). */
  read(name: string): Maskset {
    checkName(name);
    const b = builtinMaskset(name);
    if (b) return b;
    const file = this.path(name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new LkstError(`no maskset named ${name}`, 'see `lkst maskset list`, or create it with `lkst maskset create`');
      throw new LkstError(`cannot read ${file} (${errnoCode(err) ?? String(err)})`, 'check its permissions');
    }
    return parseMaskset(name, text, file);
  }

  /** The maskset with its includes expanded: a later entry for an event replaces an earlier one. */
  load(name: string, seen: string[] = []): Maskset {
    if (seen.includes(name)) throw new LkstError(`maskset ${name} includes itself (${[...seen, name].join(' -> ')})`, 'remove one of the include lines');
    const m = this.read(name);
    const byEvent = new Map<string, MasksetEntry>();
    for (const inc of m.includes) for (const e of this.load(inc, [...seen, name]).entries) byEvent.set(e.event, e);
    for (const e of m.entries) {
      byEvent.delete(e.event);
      byEvent.set(e.event, e);
    }
    return { ...m, includes: [], entries: [...byEvent.values()] };
  }

  /** Writes a maskset file atomically (checked by the caller first). */
  save(name: string, text: string): string {
    checkName(name);
    if (this.isBuiltin(name)) throw new LkstError(`maskset ${name} is built in`, 'give yours another name (copy it with `lkst maskset create NAME --from ' + name + '`)');
    try {
      mkdirSync(this.dir, { recursive: true });
      const tmp = this.path(name) + '.tmp';
      writeFileSync(tmp, text);
      renameSync(tmp, this.path(name));
    } catch (err) {
      throw new LkstError(`cannot write ${this.path(name)} (${errnoCode(err) ?? String(err)})`, 'run as root or set LKST_CONFIG_DIR to a writable directory');
    }
    return this.path(name);
  }

  delete(name: string): void {
    checkName(name);
    if (this.isBuiltin(name)) throw new LkstError(`maskset ${name} is built in and cannot be deleted`, 'delete one of yours (see `lkst maskset list`)');
    try {
      unlinkSync(this.path(name));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new LkstError(`no maskset named ${name}`, 'see `lkst maskset list`');
      throw new LkstError(`cannot delete ${this.path(name)} (${errnoCode(err) ?? String(err)})`, 'run as root');
    }
  }
}
