import { closeSync, readSync } from 'node:fs';
import { openRegularFile } from '../base/input-file.js';
import { shownText } from '../base/text.js';
import { LkstError, errnoCode } from '../base/errors.js';

/** Positioned reads of bytes: a file on disk or a buffer already in memory. */
export interface ByteSource {
  readonly size: number;
  /** Exactly len bytes at pos; the caller has checked pos + len <= size. */
  read(pos: number, len: number): Buffer;
}

export class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  read(pos: number, len: number): Buffer {
    return this.buf.subarray(pos, pos + len);
  }
}

/** A trace file opened for positioned reads; nothing is loaded until asked for. */
const SMALL_READ = 4096;
const WINDOW = 64 << 10;

export class FileSource implements ByteSource {
  private win: Buffer = Buffer.alloc(0);
  private winAt = 0;

  private constructor(readonly path: string, private fd: number, readonly size: number) {}

  static open(path: string): FileSource {
    try {
      const { fd, size } = openRegularFile(path, 'the path of a trace.dat file');
      return new FileSource(path, fd, size);
    } catch (err) {
      if (err instanceof LkstError) throw err;
      const code = errnoCode(err);
      const shown = shownText(path);
      if (code === 'ENOENT') throw new LkstError(`${shown} does not exist`, 'give the path of a trace.dat file (lkst record writes trace.dat)');
      if (code === 'EACCES' || code === 'EPERM') throw new LkstError(`permission denied to read ${shown}`, 'run as a user who can read it');
      throw new LkstError(`cannot open ${shown} (${code ?? String(err)})`, 'give the path of a readable trace.dat file');
    }
  }

  read(pos: number, len: number): Buffer {
    if (len > SMALL_READ) return this.readInto(Buffer.allocUnsafe(len), pos, len);
    // Metadata is read a few bytes at a time (a size, then a text): serve it from a window.
    if (pos < this.winAt || pos + len > this.winAt + this.win.length) {
      const n = Math.min(WINDOW, this.size - pos);
      if (n < len) return this.readInto(Buffer.allocUnsafe(len), pos, len);
      // A fresh window each time: buffers handed out before stay valid.
      this.win = this.readInto(Buffer.allocUnsafe(n), pos, n);
      this.winAt = pos;
    }
    return this.win.subarray(pos - this.winAt, pos - this.winAt + len);
  }

  /** Exactly len bytes at pos into the start of out (which has room); returns that part of out. */
  readInto(out: Buffer, pos: number, len: number): Buffer {
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, out, done, len - done, pos + done);
      if (n <= 0) throw new LkstError(`${this.path} changed while being read`, 'do not write to a trace file while reading it');
      done += n;
    }
    return len === out.length ? out : out.subarray(0, len);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
