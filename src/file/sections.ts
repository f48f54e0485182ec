/** The metadata parts shared by versions 6 and 7: in v6 they follow each other, in v7 each is a section. */
import { shownText } from '../base/text.js';
import type { Cursor } from './cursor.js';

export function readHeaderInfo(c: Cursor): { headerPage: string; headerEvent: string } {
  if (c.cstr('header_page tag', 32) !== 'header_page') throw c.fail('no header_page');
  const headerPage = c.sizedText(8, 'header_page');
  if (c.cstr('header_event tag', 32) !== 'header_event') throw c.fail('no header_event');
  const headerEvent = c.sizedText(8, 'header_event');
  return { headerPage, headerEvent };
}

/** A count, checked against the bytes left: each item takes at least minItemBytes. */
function count(c: Cursor, name: string, minItemBytes: number): number {
  const n = c.u32(name);
  if (n * minItemBytes > c.remaining) throw c.fail(`${name} ${n} does not fit in the ${c.remaining} bytes left`);
  return n;
}

export function readFtraceFormats(c: Cursor): string[] {
  const n = count(c, 'ftrace format count', 8);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(c.sizedText(8, 'ftrace format'));
  return out;
}

export function readEventFormats(c: Cursor): { system: string; formats: string[] }[] {
  const n = count(c, 'event system count', 5);
  const out: { system: string; formats: string[] }[] = [];
  for (let i = 0; i < n; i++) {
    // Escaped: it is shown in messages and report lines.
    const system = shownText(c.cstr('system name', 256), 128);
    const m = count(c, 'event count', 8);
    const formats: string[] = [];
    for (let j = 0; j < m; j++) formats.push(c.sizedText(8, `${system} event format`));
    out.push({ system, formats });
  }
  return out;
}

/** Kept as bytes: parsed as they are, made a string only when someone asks for the text. */
export function readKallsyms(c: Cursor, warnings?: string[]): Buffer {
  return c.lineBytesUpTo(4, 'kallsyms', warnings);
}

export function readPrintk(c: Cursor, warnings?: string[]): string {
  return c.linesUpTo(4, 'printk formats', warnings);
}

export function readCmdlines(c: Cursor, warnings?: string[]): string {
  return c.linesUpTo(8, 'saved cmdlines', warnings);
}
