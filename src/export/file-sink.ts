/** Writes an export file in large chunks under a temporary name, renamed into place when complete. */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';

const CHUNK = 1 << 20;

export class FileSink {
  private fd: number;
  private readonly tmp: string;
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (err) {
      throw new LkstError(`cannot write ${path} (${errnoCode(err) ?? String(err)})`, 'choose a writable output path with -o');
    }
  }

  write(data: Uint8Array): void {
    if (this.pos + data.length > this.buf.length) {
      this.flush();
      if (data.length > this.buf.length) {
        this.out(data);
        return;
      }
    }
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  text(s: string): void {
    if (this.pos + s.length * 3 > this.buf.length) this.flush();
    if (s.length * 3 > this.buf.length) this.out(Buffer.from(s, 'utf8'));
    else this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private out(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done);
    this.bytes += data.length;
  }

  flush(): void {
    if (this.pos) this.out(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  /** Completes the file under its final name. */
  close(): void {
    this.flush();
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  /** Drops the partial file (after an error). */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmp, { force: true });
  }
}

/** Runs fill on a sink for path; the file appears only if fill succeeds. */
export function withSink<T>(path: string, fill: (s: FileSink) => T): T {
  const sink = new FileSink(path);
  try {
    const r = fill(sink);
    sink.close();
    return r;
  } catch (err) {
    sink.abort();
    throw err;
  }
}
