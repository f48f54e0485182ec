import { Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';
import { availableEvents } from '../events/live.js';
import { resolveEventSet } from '../events/resolve.js';
import type { RecordOptions, TracepointRef } from '../record/recorder.js';
import { loadMasksetEnv } from '../masksets/env.js';
import { applyMaskset, announceTrace, forgetTrace, stateMaskset } from '../masksets/session.js';
import { compileMaskset } from '../masksets/compile.js';
import { planEvents } from '../masksets/plan.js';
import { readState } from '../masksets/state.js';

/** What `lkst record` records: named events, a maskset, or an armed trace it attaches to. */
export interface RecordPlan {
  describe: string;
  options: Pick<RecordOptions, 'events' | 'setup' | 'attach'>;
  /** Runs when the recording ends (e.g. the trace stops being the switchable one). */
  finish(): void;
}

export async function planRecording(opts: { event?: string[]; maskset?: string; skipMissing?: boolean; attach?: boolean }, warn: (s: string) => void): Promise<RecordPlan> {
  if ([opts.event?.length, opts.maskset, opts.attach].filter(Boolean).length > 1) {
    throw new LkstError('-e, -m and --attach exclude each other', 'name events, or a maskset, or attach to the armed trace');
  }
  if (opts.attach) return attachPlan();
  if (opts.event?.length) return eventsPlan(opts.event, warn);
  return masksetPlan(opts.maskset ?? 'default', opts.skipMissing ?? false, warn);
}

function eventsPlan(names: string[], warn: (s: string) => void): RecordPlan {
  const selection = resolveEventSet(names, availableEvents());
  if (selection.unavailable.length) warn(`no tracepoint on this kernel for ${selection.unavailable.map((u) => u.name).join(', ')} (\`lkst events\` says why)`);
  const events: TracepointRef[] = selection.tracepoints.map((r) => ({ system: r.system, event: r.event, filter: r.filter }));
  if (!events.length) throw new LkstError('none of the requested events exists on this kernel', 'see `lkst events` for what it has');
  return { describe: `${events.length} tracepoints`, options: { events }, finish: () => {} };
}

async function masksetPlan(name: string, skipMissing: boolean, warn: (s: string) => void): Promise<RecordPlan> {
  const env = await loadMasksetEnv();
  const m = env.store.load(name);
  let announced: Instance | undefined;
  let count = 0;
  const setup = async (inst: Instance): Promise<TracepointRef[]> => {
    const { plan } = await applyMaskset(inst, m, { env, marker: `lkst: maskset ${m.name}`, skipMissing });
    if (plan.missing.length) warn(`skipped (this kernel lacks them): ${plan.missing.map((x) => x.event).join(', ')}`);
    count = [...plan.tracepoints.values()].filter((t) => t.enabled).length;
    // A running recorder is the trace `lkst maskset switch` and `lkst status` work on, unless one is armed.
    let armed;
    try {
      armed = readState();
    } catch {
      armed = undefined;
    }
    if (!armed || armed.stopped || !Instance.exists(armed.instance)) {
      announceTrace(inst, m, plan);
      announced = inst;
    }
    return planEvents(plan);
  };
  return {
    get describe() {
      return `maskset ${m.name}${count ? ` (${count} tracepoints)` : ''}`;
    },
    options: { events: [], setup },
    finish: () => {
      if (announced) forgetTrace(announced);
    },
  };
}

async function attachPlan(): Promise<RecordPlan> {
  const s = readState();
  if (!s || s.stopped || !Instance.exists(s.instance)) throw new LkstError('no armed trace to attach to', 'arm one with `lkst start -m MASKSET`');
  const inst = Instance.open(s.instance);
  const env = await loadMasksetEnv();
  const planned = planEvents(compileMaskset(stateMaskset(s), env));
  const enabled = inst.enabledTracepoints();
  const seen = new Set<string>();
  const events = [...planned, ...enabled].filter((e) => !seen.has(`${e.system}:${e.event}`) && seen.add(`${e.system}:${e.event}`));
  return { describe: `the armed trace in ${inst.name} (maskset ${s.maskset})`, options: { events, attach: inst }, finish: () => {} };
}
