/**
 * Splits a print format string into literal text and conversions paired with their arguments,
 * as libtraceevent's parse_args does (including its quirks: an unknown conversion letter such as
 * %c prints ">c<" and takes no argument).
 */
import type { Expr } from './ast.js';
import { PrintFmtError } from './parser.js';

export type Segment =
  | { t: 'lit'; s: string }
  | { t: 'int'; spec: string; arg: Expr; lenArg?: Expr }
  | { t: 'ptr'; spec: string; ext: string; arg: Expr; lenArg?: Expr }
  | { t: 'str'; spec: string; arg: Expr; lenArg?: Expr };

/** How many characters after "%p" belong to the pointer extension (parse_arg_format_pointer). */
function pointerExtLen(f: string, i: number): number {
  const c = f[i];
  const c1 = f[i + 1];
  switch (c) {
    case 'F': case 'S': case 'f': case 's':
      return 1;
    case 'M': case 'm':
      return c1 === 'R' || c1 === 'F' ? 2 : 1;
    case 'I': case 'i': {
      let ret = 0;
      let idx = 2;
      if (c1 === 'S') {
        while (f[i + idx] === 'p' || f[i + idx] === 'f' || f[i + idx] === 's') {
          ret++;
          idx++;
        }
      }
      if (c1 === 'S' || c1 === '4') {
        const h = f[i + idx];
        if (h === 'h' || h === 'n' || h === 'l' || h === 'b') {
          ret++;
          idx++;
        }
        if (c1 === '4') return ret + 2;
      }
      if (c1 === 'S' || c1 === '6') {
        if (f[i + idx] === 'c') ret++;
        ret++;
      }
      return ret + 1;
    }
    case 'U':
      return c1 === 'L' || c1 === 'l' || c1 === 'B' || c1 === 'b' ? 2 : 1;
    case 'h':
      return c1 === 'C' || c1 === 'D' || c1 === 'N' ? 2 : 1;
    default:
      return 0;
  }
}

/** Literal text up to the next conversion, with \n \t \r \\ and %% resolved. Returns [text, chars used]. */
function literal(f: string, i: number): [string, number] {
  let s = '';
  let j = i;
  for (; j < f.length; j++) {
    const c = f[j]!;
    if (c === '\\') {
      j++;
      const e = f[j];
      if (e === undefined) break;
      s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
    } else if (c === '%') {
      if (f[j + 1] === '%') {
        s += '%';
        j++;
      } else break;
    } else s += c;
  }
  return [s, j - i];
}

export function splitFormat(f: string, args: readonly Expr[]): Segment[] {
  const out: Segment[] = [];
  let ai = 0;
  let i = 0;
  const need = (): Expr => {
    const a = args[ai++];
    if (!a) throw new PrintFmtError('no argument matches a conversion');
    return a;
  };
  while (i < f.length) {
    if (f[i] === '%' && f[i + 1] !== '%') {
      let j = i + 1;
      let lenArg: Expr | undefined;
      let done = false;
      for (; j < f.length && !done; j++) {
        const c = f[j]!;
        if (c === '#' || c === 'h' || c === 'l' || c === 'L' || c === 'z' || c === 'Z' || c === '.' || c === '-' || (c >= '0' && c <= '9')) continue;
        if (c === '*') {
          if (lenArg) throw new PrintFmtError('argument already matched');
          lenArg = need();
          continue;
        }
        done = true;
        if (c === 'p') {
          const arg = need();
          const n = pointerExtLen(f, j + 1);
          out.push({ t: 'ptr', spec: f.slice(i, j + 1 + n), ext: f.slice(j + 1, j + 1 + n), arg, lenArg });
          j += n;
        } else if ('duixXo'.includes(c)) {
          out.push({ t: 'int', spec: f.slice(i, j + 1), arg: need(), lenArg });
        } else if (c === 's') {
          out.push({ t: 'str', spec: f.slice(i, j + 1), arg: need(), lenArg });
        } else {
          out.push({ t: 'lit', s: `>${c}<` });
        }
      }
      i = j;
    } else {
      const [s, n] = literal(f, i);
      if (s) {
        const last = out[out.length - 1];
        if (last && last.t === 'lit') last.s += s;
        else out.push({ t: 'lit', s });
      }
      i += Math.max(1, n);
    }
  }
  return out;
}
