// zlib pages of a kdump dump inflated straight into memory the caller owns. zlib.inflateSync makes
// a stream, a native zlib state and a 16 KiB output chunk per call and closes them again: for a
// 4 KiB page that was most of the cost (and the garbage). One Inflate, reset between pages, writes
// into the caller's buffer through its handle (Node's own inflateSync loop, without the rest);
// where that handle is not there (another Node), each page goes through inflateSync.
import { constants, Inflate, inflateSync } from 'node:zlib';

interface Handle { writeSync(flush: number, src: Buffer, srcOff: number, srcLen: number, out: Buffer, outOff: number, outLen: number): void }
interface Engine extends Inflate { _handle?: Handle; _writeState?: Uint32Array }

export class PageInflater {
  private engine?: Engine;
  /** Where a page is inflated first, reused. */
  private spare = Buffer.alloc(0);

  /** Inflates one zlib stream into out (exactly out.length bytes); false when it is corrupt or another size. */
  inflateInto(src: Buffer, out: Buffer): boolean {
    const e = this.engine && !this.engine.destroyed ? this.engine : this.fresh();
    if (!e?._handle || !e._writeState) return this.viaInflateSync(src, out);
    e.reset();
    // One byte of room more than the page: a stream that inflates to more is told apart.
    const room = out.length + 1;
    if (this.spare.length < room) this.spare = Buffer.allocUnsafe(room);
    const dst = this.spare;
    e._handle.writeSync(constants.Z_FINISH, src, 0, src.length, dst, 0, room);
    // Errors (a corrupt stream, one cut short) destroy the engine: the next page gets a fresh one.
    if (e.destroyed) return false;
    if (room - e._writeState[0]! !== out.length) return false;
    dst.copy(out, 0, 0, out.length);
    return true;
  }

  private fresh(): Engine | undefined {
    const e = new Inflate() as Engine;
    // Errors are seen by destroyed; the event itself must not go unhandled.
    e.on('error', () => undefined);
    this.engine = e;
    return e;
  }

  private viaInflateSync(src: Buffer, out: Buffer): boolean {
    try {
      const b = inflateSync(src, { chunkSize: out.length + 64, maxOutputLength: out.length });
      if (b.length !== out.length) return false;
      b.copy(out);
      return true;
    } catch {
      return false;
    }
  }
}
