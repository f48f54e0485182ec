/**
 * Encoder of kernel ring-buffer pages, the inverse of page.ts: records of one CPU, in time order,
 * into whole pages as kernel/trace/ring_buffer.c lays them out (rb_update_event, rb_add_time_stamp),
 * so records lkst makes itself (BPF handlers' output) become a page stream every reader of a trace
 * takes like a tracefs buffer's, trace-cmd and KernelShark included.
 *
 * Layout followed: a 16-byte header (u64 time of the page, local_t commit = bytes of data, with
 * RB_MISSED_EVENTS / RB_MISSED_STORED and the lost count after the data); each record a u32 of
 * type_len (5 bits) and time delta (27 bits); data of up to 112 bytes in type_len 4-byte words,
 * longer data as type_len 0 with its length + 4 in the next u32; a delta of 2^27 ns or more first
 * as a time extend (type 30: low 27 bits, then the rest in a u32). 4-byte alignment (x86_64).
 */
import { PAGE_HEADER_SIZE, RB_MISSED_EVENTS, RB_MISSED_STORED } from './page.js';

const TYPE_TIME_EXTEND = 30;
const TS_SHIFT = 27;
const TS_LIMIT = 2 ** TS_SHIFT;
/** Largest data a compact header describes (28 words). */
const MAX_SMALL_DATA = 28 * 4;
/** Room the lost-events count takes after a flagged page's data. */
const MISSED_COUNT_SIZE = 8;

/** Bytes a record of dataLen bytes takes in a page, its delta fitting 27 bits. */
export function recordSize(dataLen: number): number {
  const data = Math.max(4, align4(dataLen));
  return data > MAX_SMALL_DATA ? 8 + data : 4 + data;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

export class PageWriter {
  private page: Buffer;
  private used = 0;
  private pageTs = 0n;
  private lastTs = 0n;
  private pendingLost = 0;
  /** Pages emitted so far. */
  pages = 0;

  /** onPage receives each finished page; it may keep the buffer (a new one is allocated per page). */
  constructor(
    readonly pageSize: number,
    private readonly onPage: (page: Buffer) => void,
  ) {
    if (pageSize <= PAGE_HEADER_SIZE + MISSED_COUNT_SIZE + 8) throw new RangeError(`page size ${pageSize} holds no record`);
    this.page = Buffer.alloc(pageSize);
  }

  /** The largest record data a page can hold. */
  get maxData(): number {
    return this.pageSize - PAGE_HEADER_SIZE - MISSED_COUNT_SIZE - 16;
  }

  /**
   * Appends one record: data as a tracepoint's (common_type first), at ts (trace-clock ns).
   * Times must not go backwards within a CPU, as in the kernel's buffer.
   */
  add(ts: bigint, data: Buffer): void {
    if (data.length > this.maxData) throw new RangeError(`a record of ${data.length} bytes does not fit a ${this.pageSize}-byte page`);
    if (this.used > 0 && ts < this.lastTs) throw new RangeError(`record time ${ts} before the previous ${this.lastTs}`);
    let delta = this.used > 0 ? ts - this.lastTs : 0n;
    const extend = delta >= BigInt(TS_LIMIT);
    const need = recordSize(data.length) + (extend ? 8 : 0);
    if (this.used > 0 && PAGE_HEADER_SIZE + this.used + need > this.capacity()) {
      this.emit();
      delta = 0n;
    }
    if (this.used === 0) {
      this.pageTs = ts;
      delta = 0n;
    } else if (delta >= BigInt(TS_LIMIT)) {
      this.word((Number(delta & BigInt(TS_LIMIT - 1)) << 5) | TYPE_TIME_EXTEND);
      this.word(Number(delta >> BigInt(TS_SHIFT)));
      delta = 0n;
    }
    const len = Math.max(4, align4(data.length));
    if (len > MAX_SMALL_DATA) {
      this.word(Number(delta) << 5);
      this.word(len + 4);
    } else {
      this.word((Number(delta) << 5) | (len / 4));
    }
    data.copy(this.page, PAGE_HEADER_SIZE + this.used);
    this.used += len;
    this.lastTs = ts;
  }

  /** count events were lost before the next record (the kernel's flag on the page that holds it, with the count). */
  lost(count: number): void {
    if (count <= 0) return;
    if (this.used > 0) this.emit();
    this.pendingLost += count;
  }

  /** Emits the page being filled, if it holds anything. */
  flush(): void {
    if (this.used > 0) this.emit();
  }

  private capacity(): number {
    return this.pageSize - (this.pendingLost > 0 ? MISSED_COUNT_SIZE : 0);
  }

  private word(v: number): void {
    this.page.writeUInt32LE(v >>> 0, PAGE_HEADER_SIZE + this.used);
    this.used += 4;
  }

  private emit(): void {
    let commit = this.used;
    const lost = this.pendingLost;
    if (lost > 0) {
      commit = (commit | RB_MISSED_EVENTS | RB_MISSED_STORED) >>> 0;
      this.page.writeBigInt64LE(BigInt(lost), PAGE_HEADER_SIZE + this.used);
      this.pendingLost = 0;
    }
    this.page.writeBigUInt64LE(this.pageTs, 0);
    this.page.writeBigUInt64LE(BigInt(commit), 8);
    this.onPage(this.page);
    this.pages++;
    this.page = Buffer.alloc(this.pageSize);
    this.used = 0;
  }
}
