import { Writable } from 'node:stream';

/** A sink that keeps only the last n lines written to it (bounded memory for any trace size). */
export class TailLines extends Writable {
  private lines: string[] = [];
  private partial = '';

  constructor(private readonly n: number) {
    super();
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    const parts = (this.partial + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'))).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts.slice(-this.n));
    if (this.lines.length > this.n) this.lines = this.lines.slice(-this.n);
    done();
  }

  text(): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-this.n).join('\n') + '\n';
  }
}
