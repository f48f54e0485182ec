/**
 * saved_cmdlines text ("PID COMM" lines) as pid → comm, read as libtraceevent reads it
 * (tep_parse_saved_cmdlines, sscanf "%d %m[^\n]"), so reports and analyses name tasks as
 * trace-cmd does: blanks before the pid and before the comm are skipped, the comm is the rest of
 * the line, and reading stops at the first line it cannot read (a pid without a comm). The first
 * line of a pid wins.
 */
/** 2^63: past C's LONG_MAX (the float of LONG_MAX is this very number). */
const LONG_LIMIT = 2 ** 63;

export function parseCmdlines(text: string): Map<number, string> {
  const out = new Map<number, string>();
  // The C string ends at a NUL.
  const nul = text.indexOf('\0');
  const n = nul < 0 ? text.length : nul;
  let p = 0;
  while (p < n) {
    let e = text.indexOf('\n', p);
    if (e < 0 || e > n) e = n;
    if (e > p) {
      let q = skipSpace(text, p, e);
      const neg = text.charCodeAt(q) === 45;
      if (neg || text.charCodeAt(q) === 43) q++;
      const d = q;
      let v = 0;
      for (let c = text.charCodeAt(q); q < e && c >= 48 && c <= 57; c = text.charCodeAt(++q)) v = v * 10 + (c - 48);
      // No digits, a pid beyond C's long (errno set), or no comm: libtraceevent stops here.
      if (q === d || v >= LONG_LIMIT) break;
      const c0 = skipSpace(text, q, e);
      if (c0 === e) break;
      const pid = (neg ? -v : v) | 0; // stored in a C int
      if (!out.has(pid)) out.set(pid, text.slice(c0, e));
    }
    p = e + 1;
  }
  return out;
}

/** The first index at or after i that is not C whitespace (isspace), or end. */
function skipSpace(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== 32 && (c < 9 || c > 13)) break;
    i++;
  }
  return i;
}
