import { LkstError } from '../base/errors.js';
import type { Maskset, MasksetEntry } from './model.js';
import { isProbeSpec } from '../probes/spec.js';

/** Splits a line into words; "..." (with \ escapes) and '...' keep spaces; # outside quotes ends it. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '#') break;
    if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") {
      const end = findClose(line, i, ch);
      const body = line.slice(i + 1, end);
      cur += ch === '"' ? body.replace(/\\(.)/g, '$1') : body;
      i = end;
    } else {
      cur += ch;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

function findClose(line: string, open: number, quote: string): number {
  for (let i = open + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') i++;
    else if (line[i] === quote) return i;
  }
  throw new Error(`unclosed ${quote}`);
}

/** Parses "name=value" words into parameters. */
export function parseParamWords(words: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`'${w}' is not NAME=VALUE`);
    const name = w.slice(0, eq);
    if (name in params) throw new Error(`parameter ${name} is given twice`);
    params[name] = w.slice(eq + 1);
  }
  return params;
}

/**
 * Reads a maskset file:
 *   # leading comment lines describe the maskset
 *   include NAME
 *   EVENT  HANDLER  [PARAM=VALUE ...]
 *   PROBE-SPEC [PROBE-ARG ...]  HANDLER  [PARAM=VALUE ...]   (see probeWords)
 * Only the syntax is checked here; events and handlers are checked against the kernel and the
 * handler registry when the maskset is compiled.
 */
export function parseMaskset(name: string, text: string, source: string): Maskset {
  const entries: MasksetEntry[] = [];
  const includes: string[] = [];
  const description: string[] = [];
  let body = false;
  text.split('\n').forEach((raw, i) => {
    const where = `${source}:${i + 1}`;
    const line = raw.trim();
    if (!body && line.startsWith('#')) {
      description.push(line.replace(/^#\s?/, ''));
      return;
    }
    let words: string[];
    try {
      words = splitWords(line);
    } catch (err) {
      throw new LkstError(`${where}: ${(err as Error).message}`, 'close the quote');
    }
    if (!words.length) return;
    body = true;
    if (words[0] === 'include') {
      if (words.length !== 2) throw new LkstError(`${where}: include takes one maskset name`, 'write `include NAME`');
      includes.push(words[1]!);
      return;
    }
    if (isProbeSpec(words[0]!)) words = probeWords(words);
    if (words.length < 2) throw new LkstError(`${where}: '${line}' names no handler`, 'write `EVENT HANDLER [PARAM=VALUE ...]`, e.g. `sched:sched_switch record`');
    let params: Record<string, string>;
    try {
      params = parseParamWords(words.slice(2));
    } catch (err) {
      throw new LkstError(`${where}: ${(err as Error).message}`, 'write parameters as NAME=VALUE, quoting values with spaces');
    }
    entries.push({ event: words[0]!, handler: words[1]!, params, where });
  });
  return { name, description: description.join('\n').trim(), includes, entries, source };
}

/**
 * A probe line (`uprobe:libc:malloc size=%di:u64 record`): the spec's arguments are the words
 * after it that hold '=' or start with '$', up to the handler; the event is the spec with them.
 */
function probeWords(words: string[]): string[] {
  let n = 1;
  while (n < words.length && (words[n]!.includes('=') || words[n]!.startsWith('$'))) n++;
  return [words.slice(0, n).join(' '), ...words.slice(n)];
}

function quote(v: string): string {
  if (v !== '' && !/[\s"'#\\]/.test(v)) return v;
  return v.includes("'") || !v.includes('"') ? `"${v.replace(/(["\\])/g, '\\$1')}"` : `'${v}'`;
}

/** Writes one entry as a maskset line. */
export function formatEntry(e: Pick<MasksetEntry, 'event' | 'handler' | 'params'>, width = 28): string {
  const params = Object.entries(e.params).map(([k, v]) => `${k}=${quote(v)}`);
  return [e.event.padEnd(width), e.handler.padEnd(8), ...params].join(' ').trimEnd();
}

/** The text of a maskset file, readable and parsed back to the same table. */
export function formatMaskset(m: Pick<Maskset, 'description' | 'includes' | 'entries'>): string {
  const out: string[] = [];
  for (const l of m.description ? m.description.split('\n') : []) out.push(`# ${l}`.trimEnd());
  if (out.length) out.push('');
  for (const inc of m.includes) out.push(`include ${inc}`);
  const width = Math.max(28, ...m.entries.map((e) => e.event.length + 1));
  for (const e of m.entries) out.push(formatEntry(e, width));
  return out.join('\n') + '\n';
}
