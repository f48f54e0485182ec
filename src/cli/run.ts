import { LkstError } from '../base/errors.js';
import { shownText } from '../base/text.js';

/**
 * The longest part of a message printed: input quoted in it (a filter line, a name from a file)
 * is escaped at the source; this is the last guard, so no message floods or drives the terminal.
 */
const MESSAGE_MAX = 1000;

/** A message as one safe line: control bytes escaped, cut to a sane length. */
export function messageLine(text: string): string {
  return shownText(text, MESSAGE_MAX);
}

/** Prints a warning about the input as one line on stderr. */
export function printWarning(text: string): void {
  process.stderr.write(`lkst: warning: ${messageLine(text)}\n`);
}

/** Prints an error as one line, never a stack trace (unless LKST_DEBUG=1), and sets the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof LkstError) {
    process.stderr.write(`lkst: ${messageLine(err.what)}${err.fix ? `: ${messageLine(err.fix)}` : ''}\n`);
    return err.exitCode;
  }
  const e = err as { code?: string; message?: string; stack?: string };
  if (e?.code === 'EPIPE') return 0; // output closed early (| head): not an error
  if (process.env.LKST_DEBUG === '1' && e?.stack) process.stderr.write(e.stack + '\n');
  process.stderr.write(`lkst: internal error: ${messageLine(e?.message ?? String(err))} (set LKST_DEBUG=1 for details and report it)\n`);
  return 70;
}

/** Wraps a command action so every failure ends as a one-line error and a non-zero exit. */
export function action<A extends unknown[]>(fn: (...args: A) => unknown | Promise<unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

/** Parses a number option with a clear error. */
export function numberOption(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new LkstError(`bad value '${v}' for ${name}`, `give a number of at least ${min}`);
    return n;
  };
}

/** --buffer NAME, repeatable: the buffers a command reads (all when none; "top" is the top-level buffer). */
export const BUFFER_OPTION = ['--buffer <name>', 'only this buffer of the trace ("top" for the top-level one); repeatable, default: every buffer'] as const;
export function collectBuffers(v: string, prev: string[]): string[] {
  return [...prev, v];
}
