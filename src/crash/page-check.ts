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
  /** Handed on whole, cut (`page` holds the cut copy), or dropped. */
  keep: 'whole' | 'cut' | 'drop';
  page?: Buffer;
  /** Whole records kept. */
  records: number;
  /** Time of the last record kept (NaN: none). */
  lastTs: number;
  /** Time of the first record kept, and the earliest and latest of them (NaN: none). */
  firstTs: number;
  minTs: number;
  maxTs: number;
  /** Event ids of the records kept, each once, in the order first seen. */
  ids: number[];
  /** Why it was cut or dropped. */
  damage?: string;
}

/** A page dropped whole. */
const NOTHING_KEPT = { keep: 'drop', records: 0, lastTs: NaN, firstTs: NaN, minTs: NaN, maxTs: NaN, ids: [] } as const satisfies CheckedPage;

/** What one look at a page found (its records checked against all but the next page's time). */
export interface PageFacts extends CheckedPage {
  ts: bigint;
  commit: bigint;
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
 * later than `until` (the next good page's start), and each of an event the kernel had (knownIds).
 * Cuts at the last whole record before the first one that is not.
 */
export function checkRecords(page: Buffer, pageSize: number, until?: bigint, knownIds?: Set<number>): CheckedPage {
  const { ts: start } = header(page);
  const max = until === undefined ? Infinity : Number(until) + TS_SLACK;
  let records = 0;
  let lastTs = NaN;
  let firstTs = NaN;
  let minTs = Infinity;
  let maxTs = -Infinity;
  const ids: number[] = [];
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
      if (!records++) firstTs = ts;
      lastTs = ts;
      if (ts < minTs) minTs = ts;
      if (ts > maxTs) maxTs = ts;
      const id = page.readUInt16LE(off);
      if (!ids.includes(id)) ids.push(id);
      end = off + len + ((4 - (len % 4)) % 4);
    });
  } catch (e) {
    if (!(e instanceof CorruptPageError)) throw e;
    damage = e.message;
  }
  const seen = { records, lastTs, firstTs, minTs: records ? minTs : NaN, maxTs: records ? maxTs : NaN, ids };
  if (!damage) return { keep: 'whole', ...seen };
  if (records === 0) return { keep: 'drop', ...seen, damage };
  const out = Buffer.from(page);
  out.writeBigUInt64LE(BigInt(end - PAGE_HEADER_SIZE), 8);
  out.fill(0, end);
  return { keep: 'cut', page: out, ...seen, damage };
}

/** The first look at a page, made while it is read anyway: nothing of it is kept but these facts. */
export function pageFacts(page: Buffer, pageSize: number, knownIds?: Set<number>): PageFacts {
  const h = header(page);
  if (h.commit > BigInt(pageSize - PAGE_HEADER_SIZE)) {
    return { ...h, ...NOTHING_KEPT, damage: `page commit ${h.commit} exceeds the page size ${pageSize}` };
  }
  // Filled in, not spread into a new object: this runs for every ring page.
  const c = checkRecords(page, pageSize, undefined, knownIds) as PageFacts;
  c.ts = h.ts;
  c.commit = h.commit;
  c.page = undefined;
  return c;
}

export interface PageCheck {
  /** Per page in reading order: what to hand on. */
  pages: CheckedPage[];
  /** Runs of damage (a cut page, or dropped pages in a row): where losses are marked. */
  places: Array<{ /** First kept page after the damage, or -1 when it reached the end. */ next: number; damage: string; pages: number }>;
  /** Records in the pages handed on. */
  records: number;
}

/**
 * Settles a CPU's pages from their facts, in reading order: pages out of time order are dropped,
 * and a page whose records run past the next good page's start is read again (read) and cut.
 */
export function checkPages(facts: readonly PageFacts[], pageSize: number, read: (i: number) => Buffer, knownIds?: Set<number>): PageCheck {
  const limit = BigInt(pageSize - PAGE_HEADER_SIZE);
  const sane = facts.map((f, i) => (f.commit > limit ? -1 : i)).filter((i) => i >= 0);
  const ordered = orderedPages(sane.map((i) => facts[i]!.ts));
  const good = sane.filter((_, k) => ordered.has(k));
  const goodSet = new Set(good);
  const pages: CheckedPage[] = [];
  const places: PageCheck['places'] = [];
  let records = 0;
  let open: { damage: string; pages: number } | undefined;
  let g = 0;
  for (let i = 0; i < facts.length; i++) {
    const f = facts[i]!;
    let c: CheckedPage;
    if (!goodSet.has(i)) {
      c = { ...NOTHING_KEPT, damage: f.commit > limit ? f.damage : `page time ${f.ts} is out of order with its neighbours` };
    } else {
      const next = good[++g];
      const until = next === undefined ? undefined : facts[next]!.ts;
      const late = until !== undefined && f.lastTs > Number(until) + TS_SLACK;
      c = f.damage || late ? checkRecords(read(i), pageSize, until, knownIds) : f;
    }
    pages.push(c);
    records += c.records;
    if (open && c.keep !== 'drop') {
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
