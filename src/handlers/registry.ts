import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processStart } from '../base/owner.js';
import { IsolatedModule } from './isolated.js';
import { LkstError } from '../base/errors.js';
import { handlerDir } from '../base/config.js';
import { BUILTIN_HANDLERS } from './builtin.js';
import type { HandlerDefinition } from './types.js';
import { readFileSync } from 'node:fs';
import { BPF_HANDLER_RE, userBpfDefinition } from './user-bpf.js';

const NAME_RE = /^[a-z][a-z0-9_-]*$/;
const MODULE_RE = /^[a-z][a-z0-9_-]*\.mjs$/;
/** `lkst handler add` writes the module here first (handlers/commands.ts). */
export const ADDING_RE = /^\.adding-(\d+)-\d+\.mjs$/;

/** Removes the temporary modules of adds whose process is gone. */
function removeStaleAdds(dir: string, files: readonly string[]): void {
  for (const f of files) {
    const pid = Number(ADDING_RE.exec(f)?.[1]);
    if (pid && processStart(pid) === undefined) rmSync(join(dir, f), { force: true });
  }
}

/** Loads a handler module in a worker and checks what it exports; apply() runs in the worker. */
export function loadIsolated(path: string, shownAs = path): { def: HandlerDefinition; module: IsolatedModule } {
  const { module, shape } = IsolatedModule.load(path);
  try {
    const checked = checkDefinition(shape ? { ...shape, apply: shape.hasApply ? () => [] : undefined } : undefined, shownAs);
    return { def: { name: checked.name, description: checked.description, params: checked.params, apply: (ctx) => module.apply(ctx) }, module };
  } catch (err) {
    module.close();
    throw err;
  }
}

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

  /**
   * Built-ins plus every module registered with `lkst handler add` under the config root, each in
   * its own worker with a time limit. Only NAME.mjs files count: the temporary files of an add that
   * was killed are never loaded (and are removed once their process is gone).
   */
  static async load(root?: string): Promise<HandlerRegistry> {
    const reg = new HandlerRegistry();
    const dir = handlerDir(root);
    if (!existsSync(dir)) return reg;
    const files = readdirSync(dir);
    removeStaleAdds(dir, files);
    for (const file of files.filter((f) => MODULE_RE.test(f)).sort()) {
      const path = join(dir, file);
      const fix = `fix it or remove it with \`lkst handler remove ${file.replace(/\.mjs$/, '')}\``;
      let loaded;
      try {
        loaded = loadIsolated(path);
      } catch (err) {
        if (err instanceof LkstError) throw new LkstError(err.what, fix);
        throw err;
      }
      reg.add(loaded.def, path);
    }
    // Handlers in BPF C (checked when added; compiled into a recording's object when used).
    for (const file of files.filter((f) => BPF_HANDLER_RE.test(f)).sort()) {
      const path = join(dir, file);
      reg.add(userBpfDefinition(BPF_HANDLER_RE.exec(file)![1]!, readFileSync(path, 'utf8')), path);
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
