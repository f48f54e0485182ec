import { closeSync, openSync, readSync } from 'node:fs';
import { forEachRecord } from '../ringbuf/page.js';
import { recordType } from '../ringbuf/fields.js';
import { tracefs } from '../tracefs/tracefs.js';

export interface TracepointName {
  system: string;
  event: string;
}

const CHUNK_PAGES = 256;

/** Every event id that occurs in a file of whole raw pages (added to into); returns how many records it holds. */
export function scanPageFile(path: string, pageSize: number, into = new Set<number>()): number {
  let records = 0;
  forEachPageFileRecord(path, pageSize, (buf, _ts, dataOff) => {
    into.add(recordType(buf, dataOff));
    records++;
  });
  return records;
}

/** Calls visit for each record of a file of whole raw pages (buf is reused between chunks). */
export function forEachPageFileRecord(path: string, pageSize: number, visit: (buf: Buffer, ts: number, dataOff: number, len: number) => void): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(pageSize * CHUNK_PAGES);
  try {
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      const whole = n - (n % pageSize);
      for (let off = 0; off < whole; off += pageSize) forEachRecord(buf, off, pageSize, (ts, dataOff, len) => visit(buf, ts, dataOff, len));
      if (whole < buf.length) break;
      pos += whole;
    }
  } finally {
    closeSync(fd);
  }
}

/** system:event of each id, from the live kernel's event directories (read only for ids not yet known). */
export function tracepointsById(ids: Iterable<number>, known: readonly TracepointName[] = []): TracepointName[] {
  const top = tracefs();
  const want = new Set(ids);
  const out: TracepointName[] = [];
  for (const tp of known) {
    const path = `events/${tp.system}/${tp.event}/id`;
    if (top.has(path)) want.delete(Number(top.read(path)));
    out.push(tp);
  }
  for (const system of want.size ? top.list('events') : []) {
    // ftrace's formats always go into the file; plain files (enable, header_page...) are no systems.
    if (system === 'ftrace' || !top.has(`events/${system}/filter`)) continue;
    for (const event of top.list(`events/${system}`)) {
      if (!want.size) break;
      const path = `events/${system}/${event}/id`;
      if (!top.has(path)) continue;
      const id = Number(top.read(path));
      if (want.delete(id)) out.push({ system, event });
    }
  }
  return out;
}

