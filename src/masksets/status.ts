import { readLiveCounts } from '../bpf/live-counts.js';
import { renderCounts } from '../bpf/counts.js';
import { daemonStatus } from '../bpf/daemon.js';
import { TracefsDir, tracefs } from '../tracefs/tracefs.js';
import { LkstError } from '../base/errors.js';
import { describeOwner, readOwner } from '../base/owner.js';
import { diffPlan, liveFor, type Step } from './apply.js';
import { localPlan } from './plan.js';
import { targetPlans } from './targets.js';
import { pendingWork } from './journal.js';
import { Instance } from '../tracefs/instance.js';
import { availableEvents } from '../events/live.js';
import { LKST_EVENTS } from '../events/catalog.js';
import { eventAvailability } from '../events/availability.js';
import { compileMaskset } from './compile.js';
import { loadMasksetEnv } from './env.js';
import { readLiveState, type LiveState } from './live-state.js';
import type { KernelPlan } from './plan.js';
import { readState, type TraceState } from './state.js';
import { stateMaskset } from './session.js';
import { existingStatuses } from '../buffers/status.js';
import { formatBufferTable } from '../buffers/table.js';
import { listBufferNames } from '../buffers/buffer.js';
import { bufferInstanceName, bufferNameOf } from '../buffers/name.js';
import { kernelSwitches, type KernelSwitch } from '../buffers/switch.js';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** How the kernel's state differs from a plan in one instance's events (empty when it matches). */
export function planDrift(live: LiveState, plan: KernelPlan): string[] {
  return diffPlan(live, plan).map(differenceText);
}

/** One write diffPlan would make, as the difference it would remove. */
function differenceText(s: Step): string {
  const m = /^events\/([^/]+)\/([^/]+)\/(\w+)$/.exec(s.rel);
  const id = m ? `${m[1]}:${m[2]}` : '';
  switch (m?.[3]) {
    case 'enable':
      return s.value === '1' ? `${id} should record but is off` : `${id} records but is not in the table`;
    case 'filter':
      return `${id} filter differs from the table's ('${s.value === '0' ? '' : s.value}')`;
    case 'trigger':
      return s.value.startsWith('!') ? `${id} has a trigger the table does not (${s.what})` : `${id} lacks the trigger '${s.value}' of the table`;
    default:
      return `${s.what}: the table says so, the kernel differs`;
  }
}

/**
 * Every difference between the kernel and a plan: in the instance, and in the buffers the plan's
 * triggers act on (a switch target's events and triggers).
 */
export function kernelDrift(inst: Instance, plan: KernelPlan): string[] {
  const local = localPlan(plan, inst.name);
  const out = planDrift(liveFor(inst, local), local);
  try {
    for (const t of targetPlans(inst, plan)) out.push(...planDrift(t.live, t.plan).map((d) => `in ${t.inst.name}: ${d}`));
  } catch (err) {
    out.push(err instanceof LkstError ? err.what : String(err));
  }
  return out;
}

function fmtParams(p: Readonly<Record<string, string>>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${/\s/.test(v) ? JSON.stringify(v) : v}`)
    .join(' ');
}

async function armedStatus(s: TraceState): Promise<string[]> {
  const out: string[] = [];
  if (!Instance.exists(s.instance)) return [`the armed trace's instance ${s.instance} is gone (\`lkst start -m MASKSET\` arms a new one)`];
  const inst = Instance.open(s.instance);
  const env = await loadMasksetEnv();
  let plan: KernelPlan | undefined;
  let planError = '';
  try {
    plan = compileMaskset(stateMaskset(s), env);
  } catch (err) {
    planError = (err as Error).message;
  }
  const live = readLiveState(inst, plan?.tracepoints.keys() ?? []);
  const into = recordsInto(s);
  const byHandler = (s.targets ?? []).some((t) => t.command === 'traceon' && t.instance === into);
  const moved = into && !byHandler ? switchesOf(s).find((k) => k.fired && k.to === into) : undefined;
  const state = s.stopped
    ? 'stopped'
    : live.tracingOn
      ? 'recording'
      : into
        ? `recording into ${into} (${moved ? `the in-kernel switch on ${moved.tracepoint} moved it there` : 'a switch handler moved it there'})`
        : 'tracing off (frozen by a stop handler or by hand)';
  out.push(`armed trace in ${s.instance}: maskset ${s.maskset}${s.edited.length ? ` (changed by handler set: ${s.edited.join(', ')})` : ''}, ${state}, since ${s.startedAt}`);
  const last = s.switches[s.switches.length - 1];
  if (last) out.push(`last switch: ${last.from} -> ${last.to} at ${last.at}, ${last.writes} changes in ${last.windowUs} us`);
  if (s.skipped.length) out.push(`skipped (this kernel lacks them): ${s.skipped.map((m) => m.event).join(', ')}`);
  out.push('');
  const rows: string[][] = [['EVENT', 'HANDLER', 'PARAMETERS', 'IN THE KERNEL NOW']];
  for (const e of s.entries) {
    const tps = [...(plan?.tracepoints.values() ?? [])].filter((t) => t.from.some((f) => f.startsWith(`${e.where} ${e.event} `)));
    const kernel = tps.length
      ? tps
          .map((t) => {
            const l = live.tracepoints.get(t.id);
            const state = l?.recording ? 'on' : l?.softMode ? 'hooked' : 'off';
            const fired = (l?.triggers ?? []).filter((x) => x.count === 0).map((x) => x.command);
            return `${t.id} ${state}${l?.filter ? ` [${l.filter}]` : ''}${fired.length ? ` (fired: ${fired.join(', ')})` : ''}`;
          })
          .join('; ')
      : s.skipped.some((m) => m.event === e.event)
        ? 'skipped: this kernel lacks it'
        : '-';
    rows.push([e.event, e.handler, fmtParams(e.params), kernel]);
  }
  out.push(...table(rows));
  if (live.pids.length) out.push(`pids: ${live.pids.join(',')}${live.follow ? ' and their children' : ''}`);
  if (plan) {
    const drift = kernelDrift(inst, plan);
    if (drift.length) out.push('', 'the kernel differs from the table (an in-kernel switch fired, or lkst stopped mid-change; `lkst maskset switch` or `lkst reset` settles it):', ...drift.map((d) => `  ${d}`));
  } else {
    out.push('', `the table no longer compiles here (${planError})`);
  }
  return out;
}

/**
 * The in-kernel buffer switches the kernel holds from the armed trace's instance onwards (a fired
 * one followed to the next buffer): `lkst buffer switch --on` and `switch buffer=` handlers alike.
 */
function switchesOf(s: TraceState): KernelSwitch[] {
  const insts = [s.instance, ...listBufferNames().map(bufferInstanceName)].filter((n, i, a) => a.indexOf(n) === i && Instance.exists(n)).map((n) => Instance.open(n));
  const all = kernelSwitches(insts);
  const out: KernelSwitch[] = [];
  const seen = new Set<string>();
  for (let from: string | undefined = s.instance; from && !seen.has(from); ) {
    seen.add(from);
    const mine = all.filter((k) => k.from === from);
    out.push(...mine);
    from = mine.find((k) => k.fired)?.to;
  }
  return out;
}

/** The instance the armed trace records into now: its own, or the buffer an in-kernel switch (a handler's or `buffer switch --on`) moved it to. */
export function recordsInto(s: TraceState): string | undefined {
  if (s.stopped) return undefined;
  if (Instance.exists(s.instance) && Instance.open(s.instance).tracingOn) return s.instance;
  const targets = new Set((s.targets ?? []).filter((t) => t.command === 'traceon').map((t) => t.instance));
  const byHandler = [...targets].find((n) => Instance.exists(n) && Instance.open(n).tracingOn);
  if (byHandler) return byHandler;
  // What the kernel says: the last buffer a fired switch led to, if it records.
  const fired = switchesOf(s).filter((k) => k.fired);
  const last = fired[fired.length - 1]?.to;
  return last && Instance.open(last).tracingOn ? last : undefined;
}

/** The armed trace's instance and every buffer, as the kernel counts them, with what the armed table does to each. */
function buffersSection(s: TraceState | undefined): string[] {
  const notes = new Map<string, string[]>();
  const note = (inst: string, text: string): void => void notes.set(inst, [...(notes.get(inst) ?? []), text]);
  const names = listBufferNames().map(bufferInstanceName);
  if (s && Instance.exists(s.instance)) {
    note(s.instance, 'the armed trace');
    const into = recordsInto(s);
    if (into) note(into, into === s.instance ? 'records here' : 'the armed trace records here');
    const byHandler = new Set<string>();
    for (const t of s.targets ?? []) {
      if (t.command === 'traceon') byHandler.add(t.instance);
      if (t.command === 'traceon' && t.instance !== into) note(t.instance, `a switch handler moves the armed trace here when ${t.tracepoint} fires`);
      if (t.command === 'traceoff') note(t.instance, `a stop handler freezes it when ${t.tracepoint} fires`);
    }
    for (const k of switchesOf(s)) {
      if (byHandler.has(k.to)) continue;
      note(k.to, k.fired ? `the in-kernel switch on ${k.tracepoint} moved the armed trace here` : `an in-kernel switch moves the armed trace here when ${k.tracepoint} fires`);
    }
    if (!names.includes(s.instance)) names.unshift(s.instance);
  }
  const list = existingStatuses(names);
  const text = formatBufferTable(list, { notes: new Map([...notes].map(([k, v]) => [k, [...new Set(v)].join('; ')])) });
  return ['buffers:', ...text.split('\n').map((l) => `  ${l}`)];
}

/** Events hooked in one tracefs directory (top level or an instance): recorded, or only by a trigger. */
function hookedIn(dir: TracefsDir): Map<string, string> {
  const out = new Map<string, string>();
  for (const id of dir.read('set_event').split('\n').filter(Boolean)) {
    const [system, event] = id.split(':') as [string, string];
    let mode = 'on';
    try {
      const e = dir.read(`events/${system}/${event}/enable`).trim();
      mode = e.startsWith('1') ? 'on' : 'trigger only';
    } catch {
      /* raced with removal */
    }
    out.set(id, mode);
  }
  return out;
}

/** `lkst status --hooks`: which tracepoints are live in the kernel (any instance) and which are off. */
function hooksStatus(): string[] {
  const top = tracefs();
  const dirs: [string, TracefsDir][] = [['top', top], ...top.list('instances').sort().map((n): [string, TracefsDir] => [n, new TracefsDir(top.path(`instances/${n}`))])];
  const live = new Map<string, string[]>();
  for (const [name, dir] of dirs) {
    let hooked: Map<string, string>;
    try {
      hooked = hookedIn(dir);
    } catch {
      continue; // an instance removed while we read
    }
    for (const [id, mode] of hooked) live.set(id, [...(live.get(id) ?? []), `${name}${mode === 'on' ? '' : ` (${mode})`}`]);
  }
  const available = availableEvents();
  const out = [`live tracepoints: ${live.size} of ${available.size} are hooked in the kernel; the other ${available.size - live.size} are off and cost nothing`];
  const rows: string[][] = [['TRACEPOINT', 'HOOKED BY']];
  for (const id of [...live.keys()].sort()) rows.push([id, live.get(id)!.join(', ')]);
  if (live.size) out.push(...table(rows).map((l) => `  ${l}`));
  out.push('', 'LKST events:');
  const erows: string[][] = [['EVENT', 'STATE', 'TRACEPOINTS']];
  for (const e of LKST_EVENTS) {
    const a = eventAvailability(e, available);
    const on = a.tracepoints.filter((t) => live.has(t.id)).map((t) => t.id);
    const state = !a.available ? 'not on this kernel' : on.length ? (on.length === a.tracepoints.length ? 'live' : 'partly live') : 'off';
    erows.push([e.name, state, (on.length ? on : a.tracepoints.map((t) => t.id)).join(', ')]);
  }
  out.push(...table(erows).map((l) => `  ${l}`));
  return out;
}

/** `lkst status [--hooks]`: the armed trace's live table, read back from the kernel, and its buffers. */
export async function statusReport(opts: { hooks?: boolean } = {}): Promise<string> {
  if (opts.hooks) return hooksStatus().join('\n');
  const s = readState();
  const pending = pendingWork();
  const out = [...pending, ...(pending.length ? [''] : []), ...(s ? await armedStatus(s) : ['no trace is armed (`lkst start -m MASKSET` arms one)'])];
  const daemon = s && daemonStatus(s.instance);
  if (daemon) out.push(daemon);
  out.push('', ...buffersSection(s));
  for (const [instance, counts] of readLiveCounts()) {
    if (!Instance.exists(instance)) continue;
    out.push('', `counts (BPF, live, updated every second) of the recording in ${instance}:`, ...renderCounts(counts).map((l) => `  ${l}`));
  }
  const others = Instance.listNames().filter((n) => n !== s?.instance && !bufferNameOf(n));
  if (others.length) {
    out.push('', 'other lkst instances:');
    for (const n of others) {
      const rec = readOwner(n);
      out.push(`  ${n}: ${rec ? describeOwner(rec) : 'no owner record'}`);
    }
  }
  return out.join('\n');
}
