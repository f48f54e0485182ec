/**
 * Where a live stream's text goes: a descriptor written without blocking (stdout to a slow pipe),
 * the text that does not fit yet queued. The queue's size says when to stop making more (see
 * ready), so a slow reader costs bounded memory; a reader that goes away (EPIPE) ends the stream.
 */
import { writeSync } from 'node:fs';
import { TextWriter } from '../../events/printfmt/writer.js';
import { errnoCode } from '../../base/errors.js';

const RETRY_MS = 5;

export class PacedOutput {
  readonly w: TextWriter;
  /** The reader is gone (EPIPE) or writing failed (then error says why). */
  closed = false;
  error: unknown;
  private queue: Buffer[] = [];
  private queued = 0;
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly fd: number,
    private readonly limitBytes: number,
    private readonly onClosed: () => void,
  ) {
    this.w = new TextWriter(1 << 16, (chunk) => this.enqueue(chunk));
  }

  /** Whether more text may be made now: the reader keeps up (less than the limit waits) and is there. */
  ready(): boolean {
    return !this.closed && this.queued < this.limitBytes;
  }

  /** Hands what was written so far to the descriptor. */
  flush(): void {
    this.w.flush();
  }

  /** Resolves once everything is written, or the reader is gone. */
  drained(): Promise<void> {
    this.flush();
    if (this.closed || !this.queued) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private enqueue(chunk: Buffer): void {
    if (this.closed) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (!this.timer) this.write();
  }

  private write(): void {
    while (this.queue.length) {
      const c = this.queue[0]!;
      let n: number;
      try {
        n = writeSync(this.fd, c, this.head, c.length - this.head);
      } catch (err) {
        if (errnoCode(err) === 'EAGAIN') {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.write();
          }, RETRY_MS);
          return;
        }
        this.close(errnoCode(err) === 'EPIPE' ? undefined : err);
        return;
      }
      this.head += n;
      this.queued -= n;
      if (this.head === c.length) {
        this.queue.shift();
        this.head = 0;
      }
    }
    this.wake();
  }

  private close(err: unknown): void {
    this.closed = true;
    this.error = err;
    this.queue = [];
    this.queued = 0;
    this.onClosed();
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
