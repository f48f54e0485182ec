/**
 * Text taken from inputs (files, the kernel, the command line) as it may appear in a message: every
 * control byte escaped so it cannot move the cursor, clear a line or forge another line, and cut to a
 * length a terminal can show.
 */
import { grouped } from './grouped.js';

export const SHOWN_MAX = 200;

// Cc: the C0 and C1 control characters and DEL; U+2028/9 end lines in some terminals and JSON readers.
const UNSAFE = /[\p{Cc}\u2028\u2029]/gu;

function escapeChar(ch: string): string {
  switch (ch) {
    case '\n':
      return '\\n';
    case '\t':
      return '\\t';
    case '\r':
      return '\\r';
    default: {
      const c = ch.charCodeAt(0);
      return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    }
  }
}

/** s escaped and cut to max characters, saying how much was left out. */
export function shownText(s: string, max = SHOWN_MAX): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  const out = cut.replace(UNSAFE, escapeChar);
  return s.length > max ? `${out}... (${grouped(s.length - max)} more characters)` : out;
}
