// Positioned reads of a (possibly huge) file: dumps are never loaded whole.
import { closeSync, readSync } from 'node:fs';
import { openRegularFile } from '../base/input-file.js';

export interface RandomAccess {
  readonly size: number;
  /** Reads up to len bytes at off; a short buffer means the file ended. */
  read(off: number, len: number): Buffer;
  /** Fills buf from off, returning the bytes read (sources that can read into memory the caller reuses). */
  readInto?(off: number, buf: Buffer): number;
  close(): void;
}

export class FileAccess implements RandomAccess {
  readonly size: number;
  private fd: number;
  constructor(readonly path: string) {
    ({ fd: this.fd, size: this.size } = openRegularFile(path, 'the path of a crash dump file'));
  }
  read(off: number, len: number): Buffer {
    const n = Math.max(0, Math.min(len, this.size - off));
    const buf = Buffer.allocUnsafe(n);
    const done = this.readInto(off, buf.subarray(0, n));
    return done === n ? buf : buf.subarray(0, done);
  }
  /** Fills buf from off (into memory the caller reuses); returns the bytes read, fewer where the file ends. */
  readInto(off: number, buf: Buffer): number {
    const n = Math.max(0, Math.min(buf.length, this.size - off));
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, buf, done, n - done, off + done);
      if (r === 0) break;
      done += r;
    }
    return done;
  }
  close(): void {
    closeSync(this.fd);
  }
}
