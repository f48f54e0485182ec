import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';
import { handlerDir } from '../base/config.js';
import { HandlerRegistry, loadIsolated } from './registry.js';
import { BUILTIN_HANDLERS } from './builtin.js';

/** TypeScript source to an ES module, with the TypeScript compiler when it is installed. */
async function toModule(file: string, text: string): Promise<string> {
  if (!/\.(ts|mts)$/.test(file)) return text;
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new LkstError(`${file} is TypeScript and the TypeScript compiler is not installed`, 'install it (npm install -g typescript) or give the compiled .mjs');
  }
  const out = ts.transpileModule(text, {
    fileName: basename(file),
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  });
  const diag = out.diagnostics?.[0];
  if (diag) throw new LkstError(`${file}: ${ts.flattenDiagnosticMessageText(diag.messageText, ' ')}`, 'fix the syntax error');
  return out.outputText;
}

/**
 * `lkst handler add FILE`: checks a handler module (.ts, .mts, .js or .mjs with a default export)
 * and registers it under the config root: the source is kept beside the module lkst loads.
 */
export async function handlerAdd(opts: { file: string }): Promise<string> {
  let text: string;
  try {
    text = readFileSync(opts.file, 'utf8');
  } catch (err) {
    throw new LkstError(`cannot read ${opts.file} (${errnoCode(err) ?? String(err)})`, 'give the path of a handler module');
  }
  const code = await toModule(opts.file, text);
  const dir = handlerDir();
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new LkstError(`cannot create ${dir} (${errnoCode(err)})`, 'run as root or set LKST_CONFIG_DIR');
  }
  // Load it under a temporary name first, so a broken module never replaces a working one.
  const tmp = join(dir, `.adding-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(tmp, code);
  let def;
  try {
    // In a worker with a time limit: a module that loops or throws is refused and leaves nothing.
    let loaded;
    try {
      loaded = loadIsolated(tmp, opts.file);
    } catch (err) {
      if (err instanceof LkstError && err.what.startsWith('cannot load')) throw new LkstError(`${opts.file} does not load (${err.what.replace(/^[^(]*\(/, '').replace(/\)$/, '')})`, err.fix);
      if (err instanceof LkstError) throw new LkstError(err.what.replace(tmp, opts.file), err.fix);
      throw err;
    }
    loaded.module.close();
    def = loaded.def;
    if (BUILTIN_HANDLERS.some((h) => h.name === def!.name)) throw new LkstError(`handler ${def.name} is built in`, 'give yours another name');
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  renameSync(tmp, join(dir, `${def.name}.mjs`));
  copyFileSync(opts.file, join(dir, `${def.name}.source${/\.m?ts$/.test(opts.file) ? '.ts' : '.js'}`));
  return `registered handler ${def.name}: ${def.description}\nparameters: ${Object.entries(def.params).map(([k, p]) => `${k} (${p.type}${p.required ? ', required' : ''})`).join(', ') || 'none'}`;
}

/** `lkst handler list`: built-in and registered handlers with their parameters. */
export async function handlerList(): Promise<string> {
  const reg = await HandlerRegistry.load();
  const out: string[] = [];
  for (const { def, builtin, source } of reg.list()) {
    out.push(`${def.name.padEnd(10)} ${def.description}${builtin ? '' : ` [${source}]`}`);
    for (const [k, p] of Object.entries(def.params)) {
      out.push(`  ${k}=${p.type.toUpperCase()}${p.required ? ' (required)' : p.default !== undefined ? ` (default ${p.default})` : ''}: ${p.description}`);
    }
  }
  return out.join('\n');
}

/** `lkst handler remove NAME`: unregisters a user handler. */
export async function handlerRemove(opts: { name: string }): Promise<string> {
  const dir = handlerDir();
  const mod = [join(dir, `${opts.name}.mjs`), join(dir, `${opts.name}.bpf.c`)].find((f) => existsSync(f));
  if (!/^[a-z][a-z0-9_-]*$/.test(opts.name) || !mod) throw new LkstError(`no user handler named ${opts.name}`, 'see `lkst handler list`');
  unlinkSync(mod);
  for (const ext of ['.source.ts', '.source.js']) if (existsSync(join(dir, opts.name + ext))) unlinkSync(join(dir, opts.name + ext));
  return `removed handler ${opts.name}`;
}
