/** Where report text goes: a TextWriter whose full 1 MiB buffers are written to a descriptor or stream. */
import { writeSync } from 'node:fs';
import { TextWriter } from '../../events/printfmt/writer.js';
import { sleepSync } from '../../base/sleep-sync.js';

export type ReportOutput = number | NodeJS.WritableStream;

function fdOf(out: ReportOutput): number | undefined {
  if (typeof out === 'number') return out;
  const fd = (out as { fd?: unknown }).fd;
  return typeof fd === 'number' ? fd : undefined;
}

export class OutputSink {
  readonly w: TextWriter;
  bytes = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(out: ReportOutput) {
    const fd = fdOf(out);
    this.w = new TextWriter(1 << 20, (chunk) => {
      this.bytes += chunk.length;
      if (fd !== undefined) {
        let off = 0;
        while (off < chunk.length) {
          try {
            off += writeSync(fd, chunk, off, chunk.length - off);
          } catch (err) {
            // A non-blocking pipe (stdout to a slow reader): wait and retry.
            if ((err as { code?: string }).code === 'EAGAIN') sleepSync(2);
            else throw err;
          }
        }
      } else {
        const stream = out as NodeJS.WritableStream;
        if (!stream.write(chunk)) this.pending = new Promise((resolve) => stream.once('drain', () => resolve()));
      }
    }, fd !== undefined);
  }

  /** Writes what is left and waits until a stream has taken it. */
  async end(): Promise<void> {
    this.w.flush();
    await this.pending;
  }
}
