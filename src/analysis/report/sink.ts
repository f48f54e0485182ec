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
  private text = '';
  private readonly fd: number | undefined;
  private pending: Promise<void> = Promise.resolve();
  bytes = 0;

  constructor(private readonly out: ReportOutput) {
    this.fd = fdOf(out);
  }

  add(s: string): void {
    this.text += s;
    if (this.text.length >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (!this.text) return;
    const buf = Buffer.from(this.text, 'latin1');
    this.text = '';
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
