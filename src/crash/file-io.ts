// Positioned reads of a (possibly huge) file: dumps are never loaded whole.
import { closeSync, readSync } from 'node:fs';
import { openRegularFile } from '../base/input-file.js';

export interface RandomAccess {
  readonly size: number;
  /** Reads up to len bytes at off; a short buffer means the file ended. */
  read(off: number, len: number): Buffer;
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
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, buf, done, n - done, off + done);
      if (r === 0) break;
      done += r;
    }
    return done === n ? buf : buf.subarray(0, done);
  }
  close(): void {
    closeSync(this.fd);
  }
}
