import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';
import { compileMaskset } from './compile.js';
import { loadMasksetEnv, type MasksetEnv } from './env.js';
import type { Maskset, MasksetEntry } from './model.js';
import { formatMaskset, parseMaskset, splitWords, parseParamWords } from './parse.js';
import { checkPlanOnKernel } from './apply.js';
import { readState } from './state.js';
import { triggerText } from './plan.js';
import { handlerRemove } from '../handlers/commands.js';
import { isProbeSpec, parseProbeText } from '../probes/spec.js';

function probeSpecChecked(e: MasksetEntry): void {
  try {
    parseProbeText(e.event);
  } catch (err) {
    if (err instanceof LkstError) throw new LkstError(`${e.where}: ${err.what}`, err.fix);
    throw err;
  }
}

/** Parses, compiles and tries a maskset on the kernel; returns notes (events this kernel lacks). */
function validate(env: MasksetEnv, m: Maskset): string[] {
  // A probe line is checked as a spec only: its probe is made when a recording uses it.
  for (const e of m.entries) if (isProbeSpec(e.event)) probeSpecChecked(e);
  const entries = [...m.includes.flatMap((i) => env.store.load(i).entries), ...m.entries].filter((e) => !isProbeSpec(e.event));
  const expanded: Maskset = { ...m, includes: [], entries };
  const plan = compileMaskset(expanded, { ...env, loadMaskset: (n) => (n === m.name ? expanded : env.store.load(n)) });
  checkPlanOnKernel(plan);
  return plan.missing.map((x) => `note: ${x.where}: this kernel lacks ${x.event} (${x.reason}); applying it needs --skip-missing`);
}

function saveChecked(env: MasksetEnv, name: string, text: string): string {
  const m = parseMaskset(name, text, env.store.path(name));
  const notes = validate(env, m);
  const path = env.store.save(name, text);
  return [`saved ${name} (${path})`, ...notes].join('\n');
}

/** `lkst maskset list`: every maskset, the active one starred. */
export async function masksetList(): Promise<string> {
  const env = await loadMasksetEnv();
  const active = readState();
  const rows = env.store.list().map(({ name, builtin }) => {
    let desc: string;
    let n: string;
    try {
      const m = env.store.load(name);
      desc = m.description.split('\n')[0] ?? '';
      n = String(m.entries.length);
    } catch (err) {
      desc = `unreadable: ${(err as Error).message}`;
      n = '?';
    }
    return [active && !active.stopped && active.maskset === name ? '*' : ' ', name, builtin ? 'built-in' : 'file', n, desc];
  });
  const w = Math.max(4, ...rows.map((r) => r[1]!.length));
  return [`  ${'NAME'.padEnd(w)}  KIND      EVENTS  DESCRIPTION`, ...rows.map((r) => `${r[0]} ${r[1]!.padEnd(w)}  ${r[2]!.padEnd(8)}  ${r[3]!.padStart(6)}  ${r[4]}`)].join('\n');
}

/** `lkst maskset show NAME [--kernel]`: the table as a file; with kernel, what it sets per tracepoint here. */
export async function masksetShow(opts: { name: string; kernel?: boolean }): Promise<string> {
  const env = await loadMasksetEnv();
  const raw = env.store.read(opts.name);
  const text = raw.source === 'built-in' ? `# built-in maskset ${raw.name}: ${raw.description}\n\n${formatMaskset({ ...raw, description: '' })}` : readFileSync(raw.source, 'utf8');
  if (!opts.kernel) return text.trimEnd();
  const plan = compileMaskset(env.store.load(opts.name), env);
  const out = [text.trimEnd(), '', `# on this kernel (${plan.tracepoints.size} tracepoints):`];
  for (const tp of [...plan.tracepoints.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const parts = [tp.enabled ? 'record' : 'prepared'];
    if (tp.filter) parts.push(`filter '${tp.filter}'`);
    for (const t of tp.triggers) parts.push(`trigger '${triggerText(t)}'`);
    out.push(`#   ${tp.id.padEnd(40)} ${parts.join(', ')}`);
  }
  if (plan.pids) out.push(`#   pids ${plan.pids.pids.join(',')}${plan.pids.follow ? ' and their children' : ''} (set_event_pid)`);
  for (const m of plan.missing) out.push(`#   missing here: ${m.event} (${m.reason})`);
  return out.join('\n');
}

/** Reads "EVENT HANDLER PARAM=VALUE..." given on the command line. */
function entryFromWords(line: string, where: string): MasksetEntry {
  const words = splitWords(line);
  if (words.length < 2) throw new LkstError(`'${line}' names no handler`, 'write "EVENT HANDLER [PARAM=VALUE ...]"');
  try {
    return { event: words[0]!, handler: words[1]!, params: parseParamWords(words.slice(2)), where };
  } catch (err) {
    throw new LkstError(`'${line}': ${(err as Error).message}`, 'write parameters as NAME=VALUE');
  }
}

/** `lkst maskset create NAME [--from MASKSET] [--file FILE] [--entry "EVENT HANDLER P=V" ...]`. */
export async function masksetCreate(opts: { name: string; from?: string; file?: string; entries?: string[]; description?: string }): Promise<string> {
  const env = await loadMasksetEnv();
  if (env.store.exists(opts.name)) throw new LkstError(`maskset ${opts.name} exists`, `edit it with \`lkst maskset edit ${opts.name}\` or pick another name`);
  let text: string;
  if (opts.file) {
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new LkstError(`cannot read ${opts.file} (${errnoCode(err) ?? String(err)})`, 'give a readable maskset file');
    }
  } else {
    if (opts.from) env.store.read(opts.from);
    text = formatMaskset({
      description: opts.description ?? (opts.from ? `${opts.from} with changes` : ''),
      includes: opts.from ? [opts.from] : [],
      entries: (opts.entries ?? []).map((l, i) => entryFromWords(l, `--entry ${i + 1}`)),
    });
  }
  return saveChecked(env, opts.name, text);
}

/** Rewrites a maskset file's entries through fn, keeping its description and includes. */
export function editMasksetEntries(env: MasksetEnv, name: string, fn: (entries: readonly MasksetEntry[]) => MasksetEntry[]): string {
  const m = env.store.read(name);
  if (m.source === 'built-in') throw new LkstError(`maskset ${name} is built in`, `copy it first: \`lkst maskset create mine --from ${name}\``);
  return saveChecked(env, name, formatMaskset({ ...m, entries: fn(m.entries) }));
}

/**
 * `lkst maskset edit NAME [--set "EVENT HANDLER P=V"]... [--remove EVENT]...`; without changes,
 * opens $VISUAL/$EDITOR on a copy and saves it only when it checks out.
 */
export async function masksetEdit(opts: { name: string; set?: string[]; remove?: string[] }): Promise<string> {
  const env = await loadMasksetEnv();
  if (opts.set?.length || opts.remove?.length) {
    const sets = (opts.set ?? []).map((l, i) => entryFromWords(l, `--set ${i + 1}`));
    const drop = new Set([...(opts.remove ?? []), ...sets.map((e) => e.event)]);
    return editMasksetEntries(env, opts.name, (entries) => {
      const absent = (opts.remove ?? []).filter((ev) => !entries.some((e) => e.event === ev));
      if (absent.length) {
        const has = entries.map((e) => e.event).join(', ') || 'none';
        throw new LkstError(`maskset ${opts.name} has no entry for ${absent.join(', ')}`, `remove one of its own entries (${has}); see \`lkst maskset show ${opts.name}\``);
      }
      return [...entries.filter((e) => !drop.has(e.event)), ...sets];
    });
  }
  const m = env.store.read(opts.name);
  if (m.source === 'built-in') throw new LkstError(`maskset ${opts.name} is built in`, `copy it first: \`lkst maskset create mine --from ${opts.name}\``);
  const dir = mkdtempSync(join(tmpdir(), 'lkst-maskset-'));
  const tmp = join(dir, `${opts.name}.maskset`);
  writeFileSync(tmp, readFileSync(m.source, 'utf8'));
  const editor = process.env['VISUAL'] || process.env['EDITOR'] || 'vi';
  const r = spawnSync(editor, [tmp], { stdio: 'inherit', shell: /\s/.test(editor) });
  if (r.error || r.status !== 0) throw new LkstError(`the editor (${editor}) failed`, 'set EDITOR to your editor; nothing was changed');
  const text = readFileSync(tmp, 'utf8');
  try {
    const out = saveChecked(env, opts.name, text);
    rmSync(dir, { recursive: true });
    return out;
  } catch (err) {
    if (err instanceof LkstError) throw new LkstError(`${err.what}`, `${err.fix}; your edit is kept in ${tmp}, the maskset is unchanged`);
    throw err;
  }
}

/** `lkst maskset delete NAME`. */
export async function masksetDelete(opts: { name: string }): Promise<string> {
  const env = await loadMasksetEnv();
  if (env.store.isBuiltin(opts.name)) env.store.delete(opts.name); // throws: built-ins stay
  const users = fileMasksetsWhere(env, (m) => m.name !== opts.name && m.includes.includes(opts.name));
  if (users.length) throw new LkstError(`maskset ${opts.name} is included by ${users.join(', ')}`, 'remove those include lines first');
  env.store.delete(opts.name);
  const s = readState();
  return `deleted ${opts.name}${s && s.maskset === opts.name ? ' (the armed trace keeps its copy of the table)' : ''}`;
}

/** The maskset files, and the armed trace, whose own entries use a handler. */
function handlerUsers(env: MasksetEnv, handler: string): string[] {
  const files = fileMasksetsWhere(env, (m) => m.entries.some((e) => e.handler === handler)).map((n) => `maskset ${n}`);
  const s = readState();
  return s && !s.stopped && s.entries.some((e) => e.handler === handler) ? [...files, `the armed trace (${s.instance})`] : files;
}

/** `lkst handler remove NAME`: refused while a maskset or the armed trace uses the handler. */
export async function handlerRemoveUnused(opts: { name: string }): Promise<string> {
  const users = handlerUsers(await loadMasksetEnv(), opts.name);
  if (users.length) throw new LkstError(`handler ${opts.name} is used by ${users.join(', ')}`, `change those entries first (\`lkst maskset edit NAME -s "EVENT HANDLER"\` or \`lkst handler set\`)`);
  return handlerRemove(opts);
}

/** The names of the maskset files (not the built-ins) whose own text satisfies pred. */
function fileMasksetsWhere(env: MasksetEnv, pred: (m: Maskset) => boolean): string[] {
  return env.store
    .list()
    .filter((x) => !x.builtin)
    .filter((x) => {
      try {
        return pred(env.store.read(x.name));
      } catch {
        return false; // an unreadable file is reported where it is used
      }
    })
    .map((x) => x.name);
}
