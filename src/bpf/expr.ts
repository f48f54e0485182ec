/**
 * The simple forms of the kernel's filter syntax compiled to BPF C, for `filter` and `alert if=` on
 * the BPF engine: `FIELD OP VALUE` terms (OP one of == != < <= > >= &, VALUE a whole number; or
 * == / != with a "string" on a char array field such as comm) joined by && and ||, with parentheses.
 * Anything else (globs ~, dynamic strings, fields that are not numbers) is refused in one line,
 * so a filter never means something else on BPF than on ftrace.
 */
import { LkstError } from '../base/errors.js';
import type { EventFormat, Field } from '../events/format.js';

type Token = { kind: 'word' | 'num' | 'str' | 'op' | 'paren'; text: string };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '&'];

function tokens(expr: string, fail: (why: string) => never): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < expr.length; ) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = expr.slice(i);
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest) ?? /^-?(0x[0-9a-fA-F]+|\d+)/.exec(rest);
    if (m) {
      out.push({ kind: /^[A-Za-z_]/.test(m[0]) ? 'word' : 'num', text: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === '"') {
      const end = expr.indexOf('"', i + 1);
      if (end < 0) fail('a string is not closed');
      out.push({ kind: 'str', text: expr.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push({ kind: 'paren', text: c });
      i++;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (!op) fail(`'${c}' is not part of the simple form`);
    out.push({ kind: 'op', text: op! });
    i += op!.length;
  }
  return out;
}

/** C of one field's value as a u64/s64 (ctx is the tracepoint's record; common_pid from the helper). */
export function fieldValue(f: Field | undefined, name: string): string | undefined {
  if (name === 'common_pid') return '(s64)(u32)bpf_get_current_pid_tgid()';
  if (!f || f.name.startsWith('common_') || f.dynamic !== 'none' || f.arrayLen >= 0 || ![1, 2, 4, 8].includes(f.size)) return undefined;
  const t = `${f.signed ? 's' : 'u'}${f.size * 8}`;
  return `(${f.signed ? 's64' : 'u64'})({ ${t} v = 0; bpf_probe_read_kernel(&v, ${f.size}, (u8 *)ctx + ${f.offset}); v; })`;
}

/** C comparing a fixed char array with a string: equal up to and including the string's end. */
function stringTerm(f: Field, text: string, eq: boolean): string {
  const bytes = [...Buffer.from(text, 'utf8'), 0];
  if (bytes.length > f.size) return eq ? '0' : '1';
  const read = `({ char s[${f.size}] = {}; bpf_probe_read_kernel(s, ${f.size}, (u8 *)ctx + ${f.offset}); ${bytes.map((b, i) => `s[${i}] == ${b}`).join(' && ')}; })`;
  return eq ? read : `!${read}`;
}

/**
 * The C condition of a simple filter on one tracepoint's record. Throws a LkstError naming the
 * part that is not a simple form, with the fix.
 */
export function filterToC(expr: string, f: EventFormat, what: string): string {
  const fail = (why: string): never => {
    throw new LkstError(`${what} "${expr}" on BPF: ${why}`, 'on BPF, write FIELD OP NUMBER (OP: == != < <= > >= &) or FIELD == "TEXT" on a char array, joined by && and ||; or use the handler on ftrace');
  };
  const ts = tokens(expr, fail);
  let p = 0;
  const peek = () => ts[p];
  const next = () => ts[p++] ?? fail('it ends too early');
  const term = (): string => {
    const t = next();
    if (t.kind === 'paren' && t.text === '(') {
      const inner = or();
      const close = next();
      if (close.text !== ')') fail(`expected ')' before '${close.text}'`);
      return `(${inner})`;
    }
    if (t.kind !== 'word') fail(`expected a field name, found '${t.text}'`);
    const op = next();
    if (op.kind !== 'op' || op.text === '&&' || op.text === '||') fail(`expected a comparison after ${t.text}, found '${op.text}'`);
    const value = next();
    const field = f.fieldByName.get(t.text);
    if (value.kind === 'str') {
      if (!field?.isString || field.arrayLen <= 0 || field.dynamic !== 'none') fail(`${t.text} is not a fixed char array of ${f.system}:${f.name} (strings compare only there)`);
      if (op.text !== '==' && op.text !== '!=') fail(`strings compare with == or != only (${op.text} given)`);
      return stringTerm(field!, value.text, op.text === '==');
    }
    if (value.kind !== 'num') fail(`expected a number after ${t.text} ${op.text}, found '${value.text}'`);
    const v = fieldValue(field, t.text) ?? fail(`${f.system}:${f.name} has no numeric field '${t.text}'`);
    const lit = `${BigInt(value.text)}${t.text === 'common_pid' || field?.signed ? 'LL' : 'ULL'}`;
    return op.text === '&' ? `((${v} & ${lit}) != 0)` : `(${v} ${op.text} ${lit})`;
  };
  const and = (): string => {
    let left = term();
    while (peek()?.text === '&&') {
      p++;
      left = `${left} && ${term()}`;
    }
    return left;
  };
  function or(): string {
    let left = and();
    while (peek()?.text === '||') {
      p++;
      left = `(${left}) || (${and()})`;
    }
    return left;
  }
  const c = or();
  if (p < ts.length) fail(`unexpected '${ts[p]!.text}'`);
  return c;
}
