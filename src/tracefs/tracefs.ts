import { closeSync, openSync, statSync, readFileSync, readdirSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';
import { tracefsAccessError } from './errors.js';
import { ensureTracefs } from './mount.js';

/**
 * A directory of tracefs with its control files: the top level or one instance.
 * Every read and write of the kernel's tracing files goes through here.
 */
export class TracefsDir {
  constructor(readonly dir: string) {}

  path(rel: string): string {
    return join(this.dir, rel);
  }

  /** Whether rel exists; a path lkst may not look at is an error, not a "no" (a non-root user would see no features). */
  has(rel: string): boolean {
    const p = this.path(rel);
    try {
      statSync(p);
      return true;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw tracefsAccessError(p, err, 'look up');
    }
  }

  read(rel: string): string {
    const p = this.path(rel);
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      throw tracefsAccessError(p, err, 'read');
    }
  }

  /** Writes with one write(2) call, as the kernel parses each write separately. */
  write(rel: string, value: string, opts: { append?: boolean } = {}): void {
    const w = this.openWriter(rel, opts);
    try {
      w.write(value);
    } finally {
      w.close();
    }
  }

  /**
   * Opens a control file for writes made later, each one write(2); a time-critical sequence of
   * writes (a maskset switch) then pays no open/close inside it. Opening set_event_pid or a
   * trigger file without append clears them, as the kernel does on O_TRUNC.
   */
  openWriter(rel: string, opts: { append?: boolean } = {}): { write(value: string): void; close(): void } {
    const p = this.path(rel);
    let fd: number;
    try {
      fd = openSync(p, constants.O_WRONLY | (opts.append ? constants.O_APPEND : constants.O_TRUNC));
    } catch (err) {
      throw tracefsAccessError(p, err, 'open');
    }
    return {
      write: (value: string) => {
        try {
          writeSync(fd, value);
        } catch (err) {
          throw this.writeError(p, value, err);
        }
      },
      close: () => closeSync(fd),
    };
  }

  list(rel: string): string[] {
    try {
      return readdirSync(this.path(rel));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw tracefsAccessError(this.path(rel), err, 'list');
    }
  }

  /** The kernel explains rejected filters and triggers in error_log (top level, shared). */
  private writeError(p: string, value: string, err: unknown): LkstError {
    const code = errnoCode(err);
    if (code === 'EINVAL' || code === 'ENOENT' || code === 'E2BIG') {
      const reason = (p.endsWith('/filter') && filterParseError(p)) || lastErrorLogEntry(this.dir);
      const shown = value.trim().length > 80 ? value.trim().slice(0, 77) + '...' : value.trim();
      return new LkstError(
        `the kernel rejected '${shown}' for ${p}${reason ? ` (${reason})` : ` (${code})`}`,
        'fix the expression; see Documentation/trace/events.rst for the filter and trigger syntax',
      );
    }
    return tracefsAccessError(p, err, 'write');
  }
}

/** After a rejected filter, the filter file shows the expression, a caret under the fault and the reason. */
function filterParseError(filterPath: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(filterPath, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith('parse_error:'));
  if (i < 0) return undefined;
  const pos = i >= 1 ? lines[i - 1]!.indexOf('^') : -1;
  return `${lines[i]!.slice('parse_error:'.length).trim()}${pos >= 0 ? ` at position ${pos}` : ''}`;
}

/** The newest entry of the error_log of dir (each instance has its own) as one line. */
export function lastErrorLogEntry(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'error_log'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.trimEnd().split('\n');
  // Entries are: "[ts] subsystem: error: reason", "  Command: ...", "  ^" (caret under the position).
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /error: (.*)$/.exec(lines[i]!);
    if (!m) continue;
    const cmd = lines[i + 1]?.replace(/^\s*Command:\s*/, '') ?? '';
    const caretLine = lines[i + 2] ?? '';
    const cmdStart = (lines[i + 1] ?? '').indexOf(cmd);
    const pos = caretLine.indexOf('^') - cmdStart;
    return `${m[1]!.trim()}${pos >= 0 ? ` at position ${pos}` : ''}${cmd ? ` in '${cmd}'` : ''}`;
  }
  return undefined;
}

let topLevel: TracefsDir | undefined;

/** The top-level tracefs directory, mounted on first use. lkst only reads it and makes instances in it. */
export function tracefs(): TracefsDir {
  topLevel ??= new TracefsDir(ensureTracefs());
  return topLevel;
}
