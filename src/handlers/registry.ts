import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LkstError } from '../base/errors.js';
import { handlerDir } from '../base/config.js';
import { BUILTIN_HANDLERS } from './builtin.js';
import type { HandlerDefinition } from './types.js';

const NAME_RE = /^[a-z][a-z0-9_-]*$/;

/** Checks that a module's default export has the shape of a handler. */
export function checkDefinition(def: unknown, source: string): HandlerDefinition {
  const d = def as Partial<HandlerDefinition> | undefined;
  const bad = (why: string): never => {
    throw new LkstError(`${source} is not a handler: ${why}`, 'export default { name, description, params, apply(ctx) } (see docs/handlers.md)');
  };
  if (!d || typeof d !== 'object') bad('it has no default export');
  if (typeof d!.name !== 'string' || !NAME_RE.test(d!.name)) bad('name must be lower-case letters, digits, - or _');
  if (typeof d!.description !== 'string') bad('description is missing');
  if (!d!.params || typeof d!.params !== 'object') bad('params is missing (use {} for none)');
  for (const [k, spec] of Object.entries(d!.params!)) {
    if (!spec || !['int', 'int-list', 'string', 'bool', 'filter', 'maskset', 'buffer'].includes((spec as { type?: string }).type ?? '')) bad(`parameter ${k} has no valid type`);
  }
  if (typeof d!.apply !== 'function') bad('apply(ctx) is missing');
  return d as HandlerDefinition;
}

/** The handlers masksets can name: the built-ins and the user's registered modules. */
export class HandlerRegistry {
  private readonly byName = new Map<string, { def: HandlerDefinition; builtin: boolean; source: string }>();

  constructor() {
    for (const def of BUILTIN_HANDLERS) this.byName.set(def.name, { def, builtin: true, source: 'built-in' });
  }

  /** Built-ins plus every module registered with `lkst handler add` under the config root. */
  static async load(root?: string): Promise<HandlerRegistry> {
    const reg = new HandlerRegistry();
    const dir = handlerDir(root);
    if (!existsSync(dir)) return reg;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort()) {
      const path = join(dir, file);
      let mod: { default?: unknown };
      try {
        mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      } catch (err) {
        throw new LkstError(`cannot load handler ${path} (${(err as Error).message.split('\n')[0]})`, `fix it or remove it with \`lkst handler remove ${file.replace(/\.mjs$/, '')}\``);
      }
      reg.add(checkDefinition(mod.default, path), path);
    }
    return reg;
  }

  add(def: HandlerDefinition, source: string): void {
    const have = this.byName.get(def.name);
    if (have?.builtin) throw new LkstError(`handler ${def.name} is built in`, 'give the user handler another name');
    this.byName.set(def.name, { def, builtin: false, source });
  }

  get(name: string): HandlerDefinition | undefined {
    return this.byName.get(name)?.def;
  }

  list(): { def: HandlerDefinition; builtin: boolean; source: string }[] {
    return [...this.byName.values()];
  }
}
