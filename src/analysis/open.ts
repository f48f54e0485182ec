/** Opens any trace path (trace.dat or crash dump) as analysis input. */
import { openTraceDat } from '../file/reader.js';
import { openTrace as openAnyTrace, type OpenOptions } from '../sources/open.js';
import type { Trace } from '../trace/model.js';
import { analysisInput, type TraceInput } from './input.js';

export interface OpenedTrace extends TraceInput {
  trace: Trace;
  close(): void;
}

export interface OpenTraceOptions extends OpenOptions {
  /** Only these buffers (--buffer NAME, repeatable); all when none. */
  buffers?: readonly string[];
}

/** Runs fn on the opened trace and closes it afterwards, also when fn fails. */
export async function withTrace<T>(src: string | ({ path: string } & OpenTraceOptions), fn: (t: OpenedTrace) => T | Promise<T>): Promise<T> {
  const opts: OpenTraceOptions = typeof src === 'string' ? {} : src;
  const trace = await openAnyTrace(typeof src === 'string' ? src : src.path, opts);
  try {
    return await fn(openedInput(trace, opts.buffers));
  } finally {
    trace.close();
  }
}

/** Opens a trace.dat synchronously as analysis input (library callers and tests; the CLI uses withTrace, which also reads dumps). */
export function openTrace(path: string, opts: { buffers?: readonly string[] } = {}): OpenedTrace {
  const trace = openTraceDat(path);
  try {
    return openedInput(trace, opts.buffers);
  } catch (e) {
    trace.close();
    throw e;
  }
}

function openedInput(trace: Trace, buffers: readonly string[] | undefined): OpenedTrace {
  return Object.assign(analysisInput(trace, buffers), { trace, close: () => trace.close() });
}
