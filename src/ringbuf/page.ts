/**
 * Decoder of one kernel ring-buffer page (a "sub-buffer"): the page header, then records with
 * compressed 32-bit headers. Pure functions over bytes; layout as in kernel/trace/ring_buffer.c.
 */

export const PAGE_HEADER_SIZE = 16; // u64 timestamp + local_t commit (64-bit kernels)

const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;
const TS_SHIFT = 27;
const TS_MASK = (1 << TS_SHIFT) - 1;
const TS_MSB_MASK = 0xf8000000_00000000n; // the top 5 bits an absolute stamp does not carry

/** Commit word flags: events were lost before this page; and their count is stored after the data. */
export const RB_MISSED_EVENTS = 1 << 31;
export const RB_MISSED_STORED = 1 << 30;
const COMMIT_LEN_MASK = (1 << 30) - 1;

export interface PageHeader {
  /** Absolute time of the page's first record, in trace-clock units (ns for the default clocks). */
  timestamp: bigint;
  /** Bytes of record data after the header. */
  dataLen: number;
  /** Events were lost between the previous page read and this one. */
  missedEvents: boolean;
  /** How many, when the kernel stored the count; -1 when it only flagged the loss. */
  missedCount: number;
}

export function readPageHeader(buf: Buffer, pageOff: number): PageHeader {
  const timestamp = buf.readBigUInt64LE(pageOff);
  const commit = buf.readUInt32LE(pageOff + 8);
  const dataLen = commit & COMMIT_LEN_MASK;
  const missedEvents = (commit & RB_MISSED_EVENTS) !== 0;
  let missedCount = -1;
  if (missedEvents && commit & RB_MISSED_STORED) {
    const at = pageOff + PAGE_HEADER_SIZE + dataLen;
    if (at + 8 <= buf.length) missedCount = Number(buf.readBigInt64LE(at) & 0xffffffffn);
  }
  return { timestamp, dataLen, missedEvents: missedEvents, missedCount };
}

/** A record's time, data offset and data length (the data starts with the event's common_type). */
export type RecordVisitor = (ts: number, dataOff: number, dataLen: number) => void;

export class CorruptPageError extends Error {}

/**
 * A page a source could not deliver (its compressed chunk does not decompress) is handed on in
 * place of the lost ones, so every consumer skips and counts it like any corrupt page. The mark
 * is a header no kernel writes: all-ones time and commit (a commit larger than any page).
 */
export const UNREADABLE_PAGE = 'unreadable: the data holding it is damaged';

export function markUnreadable(buf: Buffer, pageOff: number): void {
  buf.fill(0xff, pageOff, pageOff + PAGE_HEADER_SIZE);
}

/** bytes of pages, each marked unreadable (until a source writes real pages over them). */
export function unreadablePages(bytes: number, pageSize: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let p = 0; p + pageSize <= bytes; p += pageSize) markUnreadable(b, p);
  return b;
}

export function isUnreadable(buf: Buffer, pageOff: number): boolean {
  return buf.readBigUInt64LE(pageOff) === 0xffffffffffffffffn && buf.readBigUInt64LE(pageOff + 8) === 0xffffffffffffffffn;
}

/**
 * Calls visit for each data record of the page at pageOff. Times are absolute, as numbers (exact
 * below 2^53 ns, 104 days of uptime; beyond, they lose a few ns). Throws CorruptPageError on a
 * record that runs past the page's commit.
 */
export function forEachRecord(buf: Buffer, pageOff: number, pageSize: number, visit: RecordVisitor): PageHeader {
  if (isUnreadable(buf, pageOff)) throw new CorruptPageError(UNREADABLE_PAGE);
  const head = readPageHeader(buf, pageOff);
  const start = pageOff + PAGE_HEADER_SIZE;
  if (head.dataLen > pageSize - PAGE_HEADER_SIZE || start + head.dataLen > buf.length) {
    throw new CorruptPageError(`page commit ${head.dataLen} exceeds the page size ${pageSize}`);
  }
  const end = start + head.dataLen;
  let tsBig = head.timestamp;
  let ts = Number(tsBig);
  let p = start;
  while (p + 4 <= end) {
    const word = buf.readUInt32LE(p);
    const typeLen = word & 31;
    const delta = word >>> 5;
    if (typeLen === 0) {
      // Large record: length (including this length word) in the next u32.
      if (p + 8 > end) throw new CorruptPageError('record header cut off at the end of the page');
      // Unsigned and checked before any arithmetic: a length word of 2^31 or more must not wrap
      // negative (the cursor would step backwards and loop forever).
      const lenWord = buf.readUInt32LE(p + 4);
      const dataOff = p + 8;
      if (lenWord < 4 || lenWord - 4 > end - dataOff) throw new CorruptPageError(`record length word ${lenWord} does not fit the page`);
      const len = lenWord - 4;
      const padded = len + ((4 - (len % 4)) % 4);
      if (dataOff + padded > end) throw new CorruptPageError(`record of ${len} bytes runs past the page end`);
      ts += delta;
      visit(ts, dataOff, len);
      p = dataOff + padded;
    } else if (typeLen <= 28) {
      const len = typeLen * 4;
      const dataOff = p + 4;
      if (dataOff + len > end) throw new CorruptPageError(`record of ${len} bytes runs past the page end`);
      ts += delta;
      visit(ts, dataOff, len);
      p = dataOff + len;
    } else if (typeLen === TYPE_TIME_EXTEND) {
      if (p + 8 > end) throw new CorruptPageError('time extend cut off at the end of the page');
      ts += buf.readUInt32LE(p + 4) * (TS_MASK + 1) + delta;
      p += 8;
    } else if (typeLen === TYPE_TIME_STAMP) {
      if (p + 8 > end) throw new CorruptPageError('time stamp cut off at the end of the page');
      const low = (BigInt(buf.readUInt32LE(p + 4)) << BigInt(TS_SHIFT)) | BigInt(delta);
      tsBig = (BigInt(ts) & TS_MSB_MASK) | low;
      ts = Number(tsBig);
      p += 8;
    } else {
      // Padding (type 29): delta 0 means the rest of the page is unused; otherwise a discarded record.
      if (delta === 0) break;
      if (p + 8 > end) break;
      const skip = buf.readUInt32LE(p + 4);
      ts += delta;
      // array[0] holds the discarded record's length after the header word (unsigned: p only moves on).
      if (skip > end - p) break;
      p += 4 + Math.max(4, skip);
    }
  }
  return head;
}

/** Counts the data records of a page without decoding them. */
export function countRecords(buf: Buffer, pageOff: number, pageSize: number): number {
  let n = 0;
  forEachRecord(buf, pageOff, pageSize, () => n++);
  return n;
}
