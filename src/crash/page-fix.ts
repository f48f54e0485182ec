// Adjustments to pages copied out of a dead kernel so readers see what a live reader would have:
// the unread part of a half-consumed reader page, and a lost-events mark where the ring wrapped.
import { forEachRecord, PAGE_HEADER_SIZE, RB_MISSED_EVENTS, RB_MISSED_STORED } from '../ringbuf/page.js';

const COMMIT_MASK = 0x3fffffff;

/**
 * The reader page from byte `read` of its data on: a new page whose time stamp is the time of the
 * last record before that point, so the first unread record's delta still applies.
 */
export function unreadPart(page: Buffer, pageSize: number, read: number): Buffer | undefined {
  const commit = page.readUInt32LE(8) & COMMIT_MASK;
  if (read <= 0) return page;
  if (read >= commit) return undefined;
  let before = page.readBigUInt64LE(0);
  try {
    forEachRecord(page, 0, pageSize, (ts, off, len) => {
      if (off + len <= PAGE_HEADER_SIZE + read) before = BigInt(ts);
    });
  } catch {
    // Damage after the read part leaves its time right; damage inside it is checked with the rest of the page.
  }
  const out = Buffer.alloc(pageSize);
  out.writeBigUInt64LE(before, 0);
  out.writeBigUInt64LE(BigInt(commit - read), 8);
  page.copy(out, PAGE_HEADER_SIZE, PAGE_HEADER_SIZE + read, PAGE_HEADER_SIZE + commit);
  return out;
}

/** Flags the page as preceded by lost events, storing the count (lost >= 0) when the page has room for it. */
export function markLost(page: Buffer, pageSize: number, lost: number): Buffer {
  const out = Buffer.from(page);
  const commit = out.readUInt32LE(8) & COMMIT_MASK;
  let flags = RB_MISSED_EVENTS;
  if (lost >= 0 && PAGE_HEADER_SIZE + commit + 8 <= pageSize) {
    out.writeBigUInt64LE(BigInt(lost), PAGE_HEADER_SIZE + commit);
    flags |= RB_MISSED_STORED;
  }
  out.writeUInt32LE(((commit | flags) >>> 0), 8);
  return out;
}
