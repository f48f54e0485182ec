import { type TracefsDir, tracefs } from './tracefs.js';
import { LkstError } from '../base/errors.js';
import { parseClocks } from './clock.js';

/** What the running kernel's tracing offers, read from which files exist. */
export interface Features {
  instances: boolean;
  filters: boolean;
  triggers: boolean;
  histTriggers: boolean;
  snapshot: boolean;
  subbufSize: boolean;
  eventPid: boolean;
  eventFork: boolean;
  errorLog: boolean;
  dynamicEvents: boolean;
  kprobes: boolean;
  uprobes: boolean;
  eventProbes: boolean;
  traceMarkerRaw: boolean;
  clocks: string[];
  functionTracer: boolean;
}

export const FEATURE_WORDS: Record<keyof Omit<Features, 'clocks'>, string> = {
  instances: 'tracefs instances (several buffers)',
  filters: 'event filters',
  triggers: 'event triggers',
  histTriggers: 'hist triggers',
  snapshot: 'buffer snapshots',
  subbufSize: 'adjustable sub-buffer size',
  eventPid: 'per-process event recording (set_event_pid)',
  eventFork: 'following children of traced processes (event-fork)',
  errorLog: 'error_log explanations',
  dynamicEvents: 'dynamic events',
  kprobes: 'kprobes',
  uprobes: 'uprobes',
  eventProbes: 'event probes',
  traceMarkerRaw: 'binary trace markers',
  functionTracer: 'the function tracer',
};

export function detectFeatures(top: TracefsDir = tracefs()): Features {
  // Every answer below is "no" when tracefs cannot be read at all: say why instead.
  top.list('');
  const readme = top.has('README') ? top.read('README') : '';
  const tracers = top.has('available_tracers') ? top.read('available_tracers') : '';
  return {
    instances: top.has('instances'),
    filters: top.has('events/sched/sched_switch/filter'),
    triggers: top.has('events/sched/sched_switch/trigger'),
    histTriggers: top.has('events/sched/sched_switch/hist'),
    snapshot: top.has('snapshot'),
    subbufSize: top.has('buffer_subbuf_size_kb'),
    eventPid: top.has('set_event_pid'),
    eventFork: top.has('options/event-fork'),
    errorLog: top.has('error_log'),
    dynamicEvents: top.has('dynamic_events'),
    kprobes: top.has('kprobe_events'),
    uprobes: top.has('uprobe_events'),
    eventProbes: /\be\[:\[<group>\/\]\[<event>\]\]/.test(readme) || readme.includes('eprobe'),
    traceMarkerRaw: top.has('trace_marker_raw'),
    clocks: top.has('trace_clock') ? parseClocks(top.read('trace_clock')) : [],
    functionTracer: /\bfunction\b/.test(tracers),
  };
}

/** Throws a one-line error naming a missing feature and what to do instead. */
export function requireFeature(f: Features, key: keyof Omit<Features, 'clocks'>, instead: string): void {
  if (!f[key]) throw new LkstError(`this kernel has no ${FEATURE_WORDS[key]}`, instead);
}
