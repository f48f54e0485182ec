/** Parser of the kernel's event format files (events/SYSTEM/EVENT/format, header_page). */
import { shownText } from '../base/text.js';

export type DynamicKind = 'none' | 'data_loc' | 'rel_loc';

export interface Field {
  name: string;
  /** The C type as the kernel wrote it, without the name or array suffix. */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** -1: not an array; 0: dynamic or unsized array; N: fixed array of N elements. */
  arrayLen: number;
  /** Size of one element for arrays, of the value otherwise. */
  elemSize: number;
  dynamic: DynamicKind;
  /** char arrays (fixed or dynamic) are printed as strings. */
  isString: boolean;
  isPointer: boolean;
}

export interface EventFormat {
  id: number;
  system: string;
  name: string;
  commonFields: Field[];
  fields: Field[];
  /** The print format: the quoted format string and its argument expressions, as the kernel wrote them. */
  printFmt: string;
  /** The format file's text, kept so it can be written to trace.dat unchanged. */
  text: string;
  fieldByName: Map<string, Field>;
}

const FIELD_RE = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?/;

export function parseField(line: string): Field | undefined {
  const m = FIELD_RE.exec(line);
  if (!m) return undefined;
  let decl = m[1]!.trim();
  const offset = Number(m[2]);
  const size = Number(m[3]);
  const signed = m[4] === '1';
  let dynamic: DynamicKind = 'none';
  if (decl.startsWith('__data_loc ')) {
    dynamic = 'data_loc';
    decl = decl.slice('__data_loc '.length).trim();
  } else if (decl.startsWith('__rel_loc ')) {
    dynamic = 'rel_loc';
    decl = decl.slice('__rel_loc '.length).trim();
  }
  let arrayLen = -1;
  // "type name[N]" or, for dynamic fields, "type[] name".
  const arr = /^(.*?)\s*\[([^\]]*)\]\s*$/.exec(decl);
  let type: string;
  let name: string;
  if (arr && dynamic === 'none') {
    const [typ, nm] = splitTypeName(arr[1]!);
    type = typ;
    name = nm;
    const n = Number(arr[2]);
    arrayLen = arr[2] === '' || !Number.isFinite(n) ? 0 : n;
  } else {
    const dyn = /^(.*?)\s*\[\s*\]\s*(\w+)$/.exec(decl);
    if (dyn) {
      type = dyn[1]!.trim();
      name = dyn[2]!;
      arrayLen = 0;
    } else {
      [type, name] = splitTypeName(decl);
    }
  }
  if (dynamic !== 'none') arrayLen = 0;
  const elemSize = arrayLen > 0 ? Math.max(1, Math.floor(size / arrayLen)) : dynamic !== 'none' ? elementSizeOf(type) : size;
  const base = type.replace(/\b(const|volatile|unsigned|signed)\b/g, '').trim();
  const isString = arrayLen >= 0 && base === 'char';
  return { name, type, offset, size, signed, arrayLen, elemSize, dynamic, isString, isPointer: type.includes('*') };
}

function splitTypeName(decl: string): [string, string] {
  const m = /^(.*?)(\w+)\s*$/.exec(decl);
  if (!m) return [decl, decl];
  return [m[1]!.trim(), m[2]!];
}

function elementSizeOf(type: string): number {
  if (type.includes('*')) return 8;
  if (/\b(long long|u64|s64|__u64|__s64|unsigned long|long)\b/.test(type)) return 8;
  if (/\b(int|u32|s32|__u32|__s32|pid_t)\b/.test(type)) return 4;
  if (/\b(short|u16|s16|__u16)\b/.test(type)) return 2;
  return 1;
}

/** The name and ID lines of a format file, without parsing its fields. */
export function formatIdentity(text: string): { id: number; name: string } {
  let name = '';
  let id = -1;
  for (let p = 0; p < text.length; ) {
    let e = text.indexOf('\n', p);
    if (e < 0) e = text.length;
    // Escaped: a name from a damaged file reaches report lines and messages.
    if (text.startsWith('name:', p)) name = shownText(text.slice(p + 5, e).trim(), 128);
    else if (text.startsWith('ID:', p)) id = Number(text.slice(p + 3, e).trim());
    p = e + 1;
  }
  if (!name || id < 0) throw new Error(`not an event format (no name or ID): ${shownText(text, 60)}`);
  return { id, name };
}

/** Parses one events/SYSTEM/EVENT/format file. */
export function parseFormat(text: string, system = ''): EventFormat {
  const { id, name } = formatIdentity(text);
  let printFmt = '';
  const commonFields: Field[] = [];
  const fields: Field[] = [];
  let section: 'head' | 'common' | 'fields' = 'head';
  for (const line of text.split('\n')) {
    if (line.startsWith('name:') || line.startsWith('ID:')) continue;
    if (line.startsWith('format:')) section = 'common';
    else if (line.startsWith('print fmt:')) printFmt = line.slice('print fmt:'.length).trim();
    else if (line.trim() === '') {
      if (section === 'common' && commonFields.length) section = 'fields';
    } else {
      const f = parseField(line);
      if (!f) continue;
      if (section === 'common' && f.name.startsWith('common_')) commonFields.push(f);
      else fields.push(f);
    }
  }
  // The print format may run over several lines (a newline inside its string): keep all of it.
  const pf = text.indexOf('\nprint fmt:');
  if (pf >= 0) printFmt = text.slice(pf + '\nprint fmt:'.length).trim();
  const fieldByName = new Map<string, Field>();
  for (const f of [...commonFields, ...fields]) fieldByName.set(f.name, f);
  return { id, system, name, commonFields, fields, printFmt, text, fieldByName };
}

/** The layout of a ring-buffer page, from events/header_page. */
export interface HeaderPage {
  timestampOffset: number;
  commitOffset: number;
  commitSize: number;
  dataOffset: number;
  /** Size of the data area of a page of the size the file was written with. */
  dataSize: number;
}

export function parseHeaderPage(text: string): HeaderPage {
  const byName = new Map<string, Field>();
  for (const line of text.split('\n')) {
    const f = parseField(line);
    if (f && !byName.has(f.name)) byName.set(f.name, f);
  }
  const ts = byName.get('timestamp');
  const commit = byName.get('commit');
  const data = byName.get('data');
  if (!ts || !commit || !data) throw new Error('header_page lacks timestamp, commit or data');
  return { timestampOffset: ts.offset, commitOffset: commit.offset, commitSize: commit.size, dataOffset: data.offset, dataSize: data.size };
}
