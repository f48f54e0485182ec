/** Tokenizer of an event's "print fmt:" text (C-like: quoted strings, items, operators, delimiters). */

export type TokenKind = 'item' | 'dquote' | 'squote' | 'op' | 'delim';

export interface Token {
  kind: TokenKind;
  text: string;
}

const MULTI_OPS = ['->', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '++', '--'];

function isItemChar(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_';
}

/** Splits the text into tokens; quoted strings keep their backslash escapes (the format parser reads them). */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  let prevEnd = -1;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (isItemChar(c)) {
      let j = i + 1;
      while (j < n && isItemChar(text[j]!)) j++;
      out.push({ kind: 'item', text: text.slice(i, j) });
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      const body = text.slice(i + 1, Math.min(j, n));
      const prev = out[out.length - 1];
      // Adjacent double-quoted strings are one string, as libtraceevent reads them.
      if (c === '"' && prev?.kind === 'dquote' && prevEnd === i) prev.text += body;
      else out.push({ kind: c === '"' ? 'dquote' : 'squote', text: body });
      i = j + 1;
      prevEnd = skipSpace(text, i);
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ kind: 'delim', text: c });
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (MULTI_OPS.includes(two)) {
      out.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    out.push({ kind: 'op', text: c });
    i++;
  }
  return out;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}
