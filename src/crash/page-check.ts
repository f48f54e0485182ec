/**
 * Damaged ring-buffer pages out of a dead kernel are never passed on as they are: a page whose
 * header cannot be right (commit larger than the page, time out of order with its neighbours) is
 * dropped; a page whose records run past its commit, or jump in time past the next page's start,
 * is cut at its last whole record. trace-cmd trusts page headers (a page of 0xff made it segfault).
 */
import { CorruptPageError, forEachRecord, PAGE_HEADER_SIZE } from '../ringbuf/page.js';

/**
 * Page times may step back this much between neighbours before a page counts as damaged: the
 * kernel's own ordering is not strict where writers nest; damage (a garbage header or time
 * extend) is off by far more.
 */
const TS_SLACK = 1_000_000;

export interface CheckedPage {
  /** The page to hand on: the same buffer, a cut copy, or undefined when it is dropped. */
  page?: Buffer;
  /** Whole records kept. */
  records: number;
  /** Why it was cut or dropped. */
  damage?: string;
}

/** The page header's time and commit, read without trusting them. */
function header(page: Buffer): { ts: bigint; commit: bigint } {
  return { ts: page.readBigUInt64LE(0), commit: page.readBigUInt64LE(8) };
}

/**
 * Indexes of the longest run (not necessarily contiguous) of non-decreasing page times: the pages
 * whose times agree with each other. The others' headers are damaged. O(n log n).
 */
export function orderedPages(ts: readonly bigint[]): Set<number> {
  const tailIdx: number[] = [];
  const prev = new Int32Array(ts.length).fill(-1);
  for (let i = 0; i < ts.length; i++) {
    let lo = 0, hi = tailIdx.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[tailIdx[mid]!]! - BigInt(TS_SLACK) <= ts[i]!) lo = mid + 1; else hi = mid;
    }
    if (lo > 0) prev[i] = tailIdx[lo - 1]!;
    tailIdx[lo] = i;
  }
  const keep = new Set<number>();
  for (let i = tailIdx.length ? tailIdx[tailIdx.length - 1]! : -1; i >= 0; i = prev[i]!) keep.add(i);
  return keep;
}

/**
 * Checks one page's records: all inside the commit, none earlier than the page's own time or
 * later than `until` (the next good page's start), and each of an event the kernel had (knownIds). Cuts at the last whole record before the first
 * one that is not.
 */
export function checkRecords(page: Buffer, pageSize: number, until?: bigint, knownIds?: Set<number>): CheckedPage {
  const { ts: start } = header(page);
  const max = until === undefined ? Infinity : Number(until) + TS_SLACK;
  let records = 0;
  let end = PAGE_HEADER_SIZE;
  let damage: string | undefined;
  try {
    forEachRecord(page, 0, pageSize, (ts, off, len) => {
      if (damage) return;
      if (ts < Number(start) || ts > max) {
        damage = `a record's time ${ts} is outside the page's span (${start} to ${until ?? 'end'})`;
        return;
      }
      if (knownIds && (len < 2 || !knownIds.has(page.readUInt16LE(off)))) {
        damage = `a record of event id ${len < 2 ? '?' : page.readUInt16LE(off)}, which the kernel did not have`;
        return;
      }
      records++;
      end = off + len + ((4 - (len % 4)) % 4);
    });
  } catch (e) {
    if (!(e instanceof CorruptPageError)) throw e;
    damage = e.message;
  }
  if (!damage) return { page, records };
  if (records === 0) return { records, damage };
  const out = Buffer.from(page);
  out.writeBigUInt64LE(BigInt(end - PAGE_HEADER_SIZE), 8);
  out.fill(0, end);
  return { page: out, records, damage };
}

export interface PageCheck {
  /** Per page in reading order: what to hand on. */
  pages: CheckedPage[];
  /** Runs of damage (a cut page, or dropped pages in a row): where losses are marked. */
  places: Array<{ /** First kept page after the damage, or -1 when it reached the end. */ next: number; damage: string; pages: number }>;
  /** Records in the pages handed on. */
  records: number;
}

/** Checks a CPU's pages in reading order (read: page i's bytes; head: at least its first 16; knownIds: see checkRecords). */
export function checkPages(count: number, pageSize: number, read: (i: number) => Buffer, head = read, knownIds?: Set<number>): PageCheck {
  const heads = Array.from({ length: count }, (_, i) => header(head(i)));
  const limit = BigInt(pageSize - PAGE_HEADER_SIZE);
  const sane = heads.map((h, i) => (h.commit > limit ? -1 : i)).filter((i) => i >= 0);
  const ordered = orderedPages(sane.map((i) => heads[i]!.ts));
  const good = sane.filter((_, k) => ordered.has(k));
  const goodSet = new Set(good);
  const pages: CheckedPage[] = [];
  const places: PageCheck['places'] = [];
  let records = 0;
  let open: { damage: string; pages: number } | undefined;
  let g = 0;
  for (let i = 0; i < count; i++) {
    let c: CheckedPage;
    if (!goodSet.has(i)) {
      const h = heads[i]!;
      c = { records: 0, damage: h.commit > limit ? `page commit ${h.commit} exceeds the page size ${pageSize}` : `page time ${h.ts} is out of order with its neighbours` };
    } else {
      const next = good[++g];
      c = checkRecords(read(i), pageSize, next === undefined ? undefined : heads[next]!.ts, knownIds);
    }
    pages.push(c);
    records += c.records;
    if (open && c.page) {
      places.push({ next: i, ...open });
      open = undefined;
    }
    // A cut page's loss follows it; dropped pages in a row are one place.
    if (c.damage) {
      if (open) open.pages++;
      else open = { damage: c.damage, pages: 1 };
    }
  }
  if (open) places.push({ next: -1, ...open });
  return { pages, places, records };
}
