/** Where report text goes: a TextWriter whose full 1 MiB buffers are written to a descriptor or stream. */
import { writeSync } from 'node:fs';
import { TextWriter } from '../../events/printfmt/writer.js';
import { sleepSync } from '../../base/sleep-sync.js';
import { growPipe } from '../../native/pipe-size.js';

/** Text is handed on in buffers of this size. */
const BUFFER = 1 << 20;

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
    // Node makes a stdout pipe non-blocking; written synchronously here, a full pipe then fails
    // (EAGAIN) and is waited on instead of the write sleeping in the kernel until the reader takes it.
    if (typeof out !== 'number' && fd !== undefined) (out as { _handle?: { setBlocking?(on: boolean): number } })._handle?.setBlocking?.(true);
    let pipeTried = false;
    this.w = new TextWriter(BUFFER, (chunk) => {
      this.bytes += chunk.length;
      if (fd !== undefined) {
        // A full buffer (more text to come): a pipe as big as the buffer takes each in one write.
        if (!pipeTried && chunk.length >= BUFFER - 1) {
          pipeTried = true;
          growPipe(fd, BUFFER);
        }
        let off = 0;
        let wait = 0.05;
        while (off < chunk.length) {
          try {
            off += writeSync(fd, chunk, off, chunk.length - off);
            wait = 0.05;
          } catch (err) {
            // Still a non-blocking pipe: a reader empties a full pipe in microseconds, so the waits
            // start short (2 ms each cost 1-2 s of a 147 MB report).
            if ((err as { code?: string }).code !== 'EAGAIN') throw err;
            sleepSync(wait);
            wait = Math.min(wait * 2, 2);
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
