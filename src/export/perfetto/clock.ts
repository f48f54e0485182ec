/**
 * The bundle fields that tell Perfetto's importer the trace clock, following
 * src/trace_processor/importers/ftrace/ftrace_tokenizer.cc (HandleFtraceClockSnapshot): without
 * ftrace_clock the timestamps are BOOTTIME; with it they are converted through the
 * (ftrace_timestamp, boot_timestamp) pair of the bundle, which it adds as a clock snapshot. A
 * global/local bundle without that pair cannot be converted, and its events are dropped.
 *
 * A trace.dat holds no reading of its clock against BOOTTIME (trace-cmd saves none either), so the
 * pair says the two are equal: timestamps keep the trace clock's values. FtraceClock names only
 * global, local and mono_raw; the importer treats global and local alike (one clock related to
 * BOOTTIME by the pair), so other clocks (mono, perf, x86-tsc, ...) are written as global.
 */
import { BUNDLE, FTRACE_CLOCK } from './ids.js';
import type { ProtoWriter } from '../protobuf.js';

export interface BundleClock {
  /** Writes the clock fields of a bundle (nothing on the boot clock). */
  write(w: ProtoWriter): void;
}

/** The clock fields for a trace on `clock`, related to BOOTTIME at time `at` (a timestamp of the trace). */
export function bundleClock(clock: string | undefined, at: number): BundleClock {
  if (clock === 'boot') return { write: () => {} };
  const id = clock === 'local' || clock === undefined ? FTRACE_CLOCK.local : clock === 'mono_raw' ? FTRACE_CLOCK.monoRaw : FTRACE_CLOCK.global;
  return {
    write: (w) => {
      w.int(BUNDLE.ftraceClock, id).int(BUNDLE.ftraceTimestamp, at).int(BUNDLE.bootTimestamp, at);
    },
  };
}
