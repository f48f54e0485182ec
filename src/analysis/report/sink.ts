/** Output in large chunks: text is gathered in a string and written as latin1 bytes about 1 MiB at a time. */
import { writeSync } from 'node:fs';

export type ReportOutput = number | NodeJS.WritableStream;

const FLUSH_AT = 1 << 20;

function fdOf(out: ReportOutput): number | undefined {
  if (typeof out === 'number') return out;
  const fd = (out as { fd?: unknown }).fd;
  return typeof fd === 'number' ? fd : undefined;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export class ChunkSink {
  private buf = Buffer.allocUnsafe(FLUSH_AT);
  private pos = 0;
  private readonly fd: number | undefined;
  private pending: Promise<void> = Promise.resolve();
  bytes = 0;

  constructor(private readonly out: ReportOutput) {
    this.fd = fdOf(out);
  }

  /** Adds text (latin1: one byte per character, as the trace's bytes were read). */
  add(s: string): void {
    if (this.pos + s.length > this.buf.length) {
      this.flush();
      if (s.length > this.buf.length) {
        this.emit(Buffer.from(s, 'latin1'));
        return;
      }
    }
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  flush(): void {
    if (!this.pos) return;
    const full = this.buf.subarray(0, this.pos);
    if (this.fd !== undefined) {
      this.emit(full);
      this.pos = 0;
    } else {
      // A stream keeps the buffer: hand it over and start a new one.
      this.emit(full);
      this.buf = Buffer.allocUnsafe(FLUSH_AT);
      this.pos = 0;
    }
  }

  private emit(buf: Buffer): void {
    this.bytes += buf.length;
    if (this.fd !== undefined) {
      let off = 0;
      while (off < buf.length) {
        try {
          off += writeSync(this.fd, buf, off, buf.length - off);
        } catch (err) {
          // A non-blocking pipe (stdout to a slow reader): wait and retry.
          if ((err as { code?: string }).code === 'EAGAIN') sleepMs(2);
          else throw err;
        }
      }
    } else {
      const stream = this.out as NodeJS.WritableStream;
      if (!stream.write(buf)) this.pending = new Promise((resolve) => stream.once('drain', () => resolve()));
    }
  }

  /** Writes what is left and waits until a stream has taken it. */
  async end(): Promise<void> {
    this.flush();
    await this.pending;
  }
}
