/**
 * Kernel event filters ("vec == 0", "flags & 1 && flags & 2", "(a) || (b)") evaluated on recorded
 * records, for the LKST events that are one tracepoint narrowed by a filter. Numeric comparisons
 * only, as the catalog's filters are; fields are named bare, as in the kernel's filter files.
 */
import type { EventFormat } from '../format.js';
import { emptyContext } from './context.js';
import { compileNum } from './num-expr.js';
import { isTrue } from './num.js';
import { parsePrintFmt, PrintFmtError } from './parser.js';

export type RecordFilter = (b: Buffer, off: number, len: number) => boolean;

export function compileFilter(fmt: EventFormat, filter: string): RecordFilter {
  // Bare field names become REC->field, so the print-format parser reads the expression.
  const expr = filter.replace(/"(?:[^"\\]|\\.)*"|\b[A-Za-z_]\w*\b/g, (m) => (fmt.fieldByName.has(m) ? `REC->${m}` : m));
  let parsed;
  try {
    parsed = parsePrintFmt({ ...fmt, printFmt: `"%d", ${expr}` });
  } catch (err) {
    if (err instanceof PrintFmtError) throw new PrintFmtError(`filter "${filter}" on ${fmt.system}:${fmt.name}: ${err.message}`);
    throw err;
  }
  const value = compileNum(parsed.args[0]!);
  const ctx = emptyContext();
  return (b, off, len) => isTrue(value(b, off, len, ctx));
}
