// makedumpfile's flattened format (-F, and QEMU's kdump output): the dump's bytes as a stream of
// (offset, size, data) records, big-endian. Indexed once, then read like a plain file.
import { dumpError } from './errors.js';
import type { RandomAccess } from './file-io.js';

const HEADER_SIZE = 4096;
const SIGNATURE = 'makedumpfile';

export function isFlattened(head: Buffer): boolean {
  return head.length >= 16 && head.toString('latin1', 0, SIGNATURE.length) === SIGNATURE;
}

export class FlatAccess implements RandomAccess {
  readonly size: number;
  /** Per record, sorted by start: start offset in the dump, position of its data in the file, length. */
  private starts: Float64Array;
  private filePos: Float64Array;
  private lens: Float64Array;

  constructor(private file: RandomAccess) {
    const head = file.read(0, 32);
    if (!isFlattened(head)) throw dumpError('not a flattened dump', 'give a dump written by makedumpfile -F or QEMU');
    const recs: Array<[number, number, number]> = [];
    let pos = HEADER_SIZE;
    let end = 0;
    let truncated = false;
    for (;;) {
      const h = file.read(pos, 16);
      if (h.length < 16) { truncated = true; break; }
      const off = h.readBigInt64BE(0);
      const len = h.readBigInt64BE(8);
      if (off === -1n && len === -1n) break; // END_FLAG_FLAT_HEADER
      if (off < 0n || len < 0n) throw dumpError(`corrupt flattened dump at file offset ${pos}`, 'recover from an intact copy, or rearrange it with makedumpfile -R first');
      const n = Number(len);
      const avail = Math.min(n, file.size - pos - 16);
      if (avail > 0) recs.push([Number(off), pos + 16, avail]);
      end = Math.max(end, Number(off) + avail);
      if (avail < n) { truncated = true; break; }
      pos += 16 + n;
    }
    this.truncated = truncated;
    // Later records win over earlier ones at the same offset: keep write order among equal starts.
    const order = recs.map((_, i) => i).sort((a, b) => recs[a][0] - recs[b][0] || a - b);
    this.starts = Float64Array.from(order, (i) => recs[i][0]);
    this.filePos = Float64Array.from(order, (i) => recs[i][1]);
    this.lens = Float64Array.from(order, (i) => recs[i][2]);
    this.size = end;
  }

  /** The stream ended before its end marker. */
  readonly truncated: boolean;

  /** Index of the record covering off, the latest written when several do. */
  private find(off: number): number {
    let lo = 0, hi = this.starts.length - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= off) { at = mid; lo = mid + 1; } else hi = mid - 1;
    }
    for (let i = at; i >= 0 && i > at - 16; i--) if (off < this.starts[i] + this.lens[i]) return i;
    return -1;
  }

  read(off: number, len: number): Buffer {
    // Lengths come from the dump: never allocate more than the records could hold.
    const want = Math.max(0, Math.min(len, this.size - off, this.file.size));
    const out = Buffer.alloc(want);
    let done = 0;
    while (done < want) {
      const i = this.find(off + done);
      if (i < 0) break;
      const inRec = off + done - this.starts[i];
      const n = Math.min(want - done, this.lens[i] - inRec);
      const b = this.file.read(this.filePos[i] + inRec, n);
      b.copy(out, done);
      done += b.length;
      if (b.length < n) break;
    }
    return done === want ? out : out.subarray(0, done);
  }

  close(): void {
    this.file.close();
  }
}
