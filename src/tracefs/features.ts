import { type TracefsDir, tracefs } from './tracefs.js';
import { LkstError } from '../base/errors.js';
import { parseClocks } from './clock.js';
import { Instance } from './instance.js';

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
  /** buffer_subbuf_size_kb exists but the kernel refuses writes to it, even from root. */
  subbufRefused: boolean;
}

type FeatureKey = keyof Omit<Features, 'clocks' | 'subbufRefused'>;

export const FEATURE_WORDS: Record<FeatureKey, string> = {
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
  const subbuf = top.has('buffer_subbuf_size_kb') ? subbufWritable() : false;
  return {
    instances: top.has('instances'),
    filters: top.has('events/sched/sched_switch/filter'),
    triggers: top.has('events/sched/sched_switch/trigger'),
    histTriggers: top.has('events/sched/sched_switch/hist'),
    snapshot: top.has('snapshot'),
    subbufSize: subbuf === true,
    subbufRefused: subbuf === 'refused',
    eventPid: top.has('set_event_pid'),
    eventFork: top.has('options/event-fork'),
    errorLog: top.has('error_log'),
    dynamicEvents: top.has('dynamic_events'),
    kprobes: top.has('kprobe_events'),
    uprobes: top.has('uprobe_events'),
    eventProbes: (/\be\[:\[<group>\/\]\[<event>\]\]/.test(readme) || readme.includes('eprobe')) && eprobeAccepted(top),
    traceMarkerRaw: top.has('trace_marker_raw'),
    clocks: top.has('trace_clock') ? parseClocks(top.read('trace_clock')) : [],
    functionTracer: /\bfunction\b/.test(tracers) && functionTracerAccepted(),
  };
}

/** Throws a one-line error naming a missing feature and what to do instead. */
export function requireFeature(f: Features, key: FeatureKey, instead: string): void {
  if (!f[key]) throw new LkstError(`this kernel has no ${FEATURE_WORDS[key]}`, instead);
}

/**
 * Whether the kernel lets an instance run the function tracer: listed in available_tracers is not
 * enough (this VM lists it and refuses it with EPERM). Tried in a scratch instance of this process.
 */
function functionTracerAccepted(): boolean {
  return inScratchInstance('ftrace-probe', false, (inst) => {
    try {
      inst.write('current_tracer', 'function');
      inst.write('current_tracer', 'nop');
      return true;
    } catch (err) {
      if (err instanceof LkstError) return false;
      throw err;
    }
  });
}

/** Runs try in a scratch instance of this process, removed after; cannotMake when none can be made here. */
function inScratchInstance<T>(tag: string, cannotMake: T, tryIt: (inst: Instance) => T): T {
  let inst: Instance;
  try {
    inst = Instance.createOwned(tag);
  } catch {
    return cannotMake;
  }
  try {
    return tryIt(inst);
  } finally {
    inst.remove();
  }
}

/**
 * Whether an event probe can be made: the README describes them on kernels that refuse every
 * definition (this VM: EINVAL). Tried with one on sched_switch in this process's own group, removed at once.
 */
function eprobeAccepted(top: TracefsDir): boolean {
  if (!top.has('dynamic_events') || !top.has('events/sched/sched_switch')) return false;
  const name = `lkst_${process.pid}/lkst_feature_probe`;
  try {
    top.write('dynamic_events', `e:${name} sched/sched_switch\n`, { append: true });
  } catch (err) {
    if (err instanceof LkstError) return false;
    throw err;
  }
  try {
    top.write('dynamic_events', `-:${name}\n`, { append: true });
  } catch {
    /* removal refused: lkst reset removes this process's group once it is gone */
  }
  return true;
}

/**
 * Whether the sub-buffer size can be changed: writes its own value back in a scratch instance of
 * this process (never the top level, which another tracer may be using). Undecided (no instance
 * can be made here) counts as adjustable, as the file is there.
 */
function subbufWritable(): boolean | 'refused' {
  return inScratchInstance<boolean | 'refused'>('subbuf-probe', true, (inst) => {
    try {
      const kb = inst.subbufSizeKb;
      if (kb === undefined) return false;
      inst.subbufSizeKb = kb;
      return true;
    } catch (err) {
      if (err instanceof LkstError && /refuses adjusting the sub-buffer size/.test(err.what)) return 'refused';
      throw err;
    }
  });
}
