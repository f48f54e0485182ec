/**
 * The viewer's answers: a window of tracks at the level of detail its pixels can show, one event's
 * fields, the next or previous event matching a search. Times in and out are ns since meta.start.
 */
import { jsonValue, type TraceEvent } from '../analysis/event.js';
import { firstAtOrAfter, levelFor, threadTrackId, type Column, type EventDetail, type WindowMeta } from './schema.js';
import { growF64, growI32 } from './slices.js';
import type { ViewData } from './view-data.js';

export interface WindowRequest {
  t0: number;
  t1: number;
  px: number;
  tracks: string[];
}

/** The answer to a window: its header and columns named `${track}/${what}`. */
export function answerWindow(d: ViewData, req: WindowRequest): { meta: WindowMeta; cols: Record<string, Column> } {
  const { t0, t1 } = req;
  const px = Math.max(1, Math.min(8192, Math.floor(req.px)));
  const cols: Record<string, Column> = {};
  const cpuIdx = new Map(d.meta.cpuTracks.map((t, i) => [t.id, i]));
  const wantedCpus = req.tracks.map((id) => cpuIdx.get(id)).filter((i): i is number => i !== undefined);
  const pids = req.tracks.filter((id) => id.startsWith('thread:')).map((id) => Number(id.slice(7)));
  let events = 0;
  for (const s of wantedCpus) events += d.pyramids[s]!.total(t0, t1);
  const raw = events <= d.meta.rawLimit;
  const level = levelFor(t1 - t0, px, d.meta.baseNs, d.meta.levels);
  for (const s of wantedCpus) {
    const id = d.meta.cpuTracks[s]!.id;
    const run = d.running.windowColumns(d.running.byKey.get(s), t0, t1, px);
    cols[`${id}/run.start`] = run.start;
    cols[`${id}/run.end`] = run.end;
    cols[`${id}/run.pid`] = run.value;
    const irq = d.irqs.windowColumns(d.irqs.byKey.get(s), t0, t1, px);
    cols[`${id}/irq.start`] = irq.start;
    cols[`${id}/irq.end`] = irq.end;
    if (!raw) cols[`${id}/density`] = d.pyramids[s]!.sample(t0, t1, px, level);
  }
  if (raw && events > 0 && wantedCpus.length) {
    const by = new Map(wantedCpus.map((s) => [s, { ts: growF64(), type: growI32(), pid: growI32(), nth: growI32() }]));
    d.chunks.read(
      d.meta.start + t0,
      d.meta.start + t1,
      (ev, s, nth) => {
        const c = by.get(s)!;
        c.ts.push(ev.ts - d.meta.start);
        c.type.push(d.typeById[ev.id & 0xffff]!);
        c.pid.push(ev.pid);
        c.nth.push(nth);
      },
      new Set(wantedCpus),
    );
    for (const [s, c] of by) {
      const id = d.meta.cpuTracks[s]!.id;
      cols[`${id}/ev.ts`] = c.ts.view;
      cols[`${id}/ev.type`] = c.type.view;
      cols[`${id}/ev.pid`] = c.pid.view;
      cols[`${id}/ev.nth`] = c.nth.view;
    }
  }
  const byPid = d.running.byValue!;
  for (const pid of pids) {
    const id = threadTrackId(pid);
    const run = d.running.windowColumns(byPid.get(pid), t0, t1, px, (i) => d.meta.cpuTracks[d.running.key[i]!]!.cpu);
    cols[`${id}/run.start`] = run.start;
    cols[`${id}/run.end`] = run.end;
    cols[`${id}/run.cpu`] = run.value;
  }
  Object.assign(cols, flowsIn(d, t0, t1, px, new Set(pids)));
  return { meta: { t0, t1, px, bucketNs: raw ? 0 : d.meta.baseNs * 2 ** level, events }, cols };
}

/** Wakeup -> run flows of the threads shown whose run falls in the window, at most one per pixel of the run. */
function flowsIn(d: ViewData, t0: number, t1: number, px: number, pids: ReadonlySet<number>): Record<string, Column> {
  const f = d.flows;
  const wake = growF64();
  const run = growF64();
  const pid = growI32();
  const waker = growI32();
  const cpu = growI32();
  let lastPx = -1;
  const perPx = (t1 - t0) / px;
  for (let p = firstAtOrAfter(f.run, t0); p < f.run.length && f.run[p]! <= t1; p++) {
    if (!pids.has(f.pid[p]!) && !pids.has(f.waker[p]!)) continue;
    const x = Math.floor((f.run[p]! - t0) / perPx);
    if (x === lastPx) continue;
    lastPx = x;
    wake.push(f.wake[p]!);
    run.push(f.run[p]!);
    pid.push(f.pid[p]!);
    waker.push(f.waker[p]!);
    cpu.push(f.cpu[p]!);
  }
  return { 'flow/wake': wake.view, 'flow/run': run.view, 'flow/pid': pid.view, 'flow/waker': waker.view, 'flow/cpu': cpu.view };
}

function detailOf(d: ViewData, ev: TraceEvent, s: number, nth: number): EventDetail {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ev.fields())) fields[k] = jsonValue(v);
  const t = d.meta.cpuTracks[s]!;
  return {
    ts: ev.ts,
    rel: ev.ts - d.meta.start,
    cpu: ev.cpu,
    buffer: ev.buffer,
    pid: ev.pid,
    comm: ev.pid === 0 ? 'swapper' : (d.input.cmdlines?.get(ev.pid) ?? commOf(d, ev.pid)),
    event: ev.fmt ? `${ev.fmt.system}:${ev.fmt.name}` : `unknown-${ev.id}`,
    fields,
    ref: `${t.buffer}:${t.cpu}:${ev.ts - d.meta.start}:${nth}`,
  };
}

function commOf(d: ViewData, pid: number): string {
  for (const p of d.meta.processes) for (const t of p.threads) if (t.pid === pid) return t.comm;
  return '';
}

/** The event a ref names (`buffer:cpu:rel-ts:nth`), decoded. */
export function eventByRef(d: ViewData, ref: string): EventDetail | undefined {
  const [b, c, t, n] = ref.split(':').map(Number);
  const s = d.meta.cpuTracks.findIndex((x) => x.buffer === b && x.cpu === c);
  if (s < 0 || !Number.isFinite(t) || !Number.isInteger(n)) return undefined;
  let out: EventDetail | undefined;
  const abs = d.meta.start + t!;
  d.chunks.read(abs, abs, (ev, _s, nth) => {
    if (nth !== n) return;
    out = detailOf(d, ev, s, nth);
    return false;
  }, new Set([s]));
  return out;
}

/** The event of a track nearest to time t (rel ns) within tol ns, decoded. */
export function eventNear(d: ViewData, track: string, t: number, tol: number): EventDetail | undefined {
  const s = d.meta.cpuTracks.findIndex((x) => x.id === track);
  if (s < 0) return undefined;
  let best: EventDetail | undefined;
  let bestD = Infinity;
  d.chunks.read(d.meta.start + t - tol, d.meta.start + t + tol, (ev, _s, nth) => {
    const dist = Math.abs(ev.ts - d.meta.start - t);
    if (dist < bestD) {
      bestD = dist;
      best = detailOf(d, ev, s, nth);
    }
  }, new Set([s]));
  return best;
}

/**
 * A search: words without "=" match the event's system:name; name=value (a field, or pid, cpu, comm)
 * must be equal. Returns undefined when the query names nothing.
 */
export function matcher(d: ViewData, query: string): ((ev: TraceEvent) => boolean) | undefined {
  const words = query.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return undefined;
  const names = words.filter((w) => !w.includes('=')).map((w) => w.toLowerCase());
  const eqs = words.filter((w) => w.includes('=')).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as const);
  const typeOk = new Map<number, boolean>();
  return (ev) => {
    let ok = typeOk.get(ev.id);
    if (ok === undefined) {
      const name = ev.fmt ? `${ev.fmt.system}:${ev.fmt.name}` : '';
      ok = names.every((n) => name.includes(n)) && eqs.every(([k]) => k === 'pid' || k === 'cpu' || k === 'comm' || !!ev.fmt?.fields.some((f) => f.name === k));
      typeOk.set(ev.id, ok);
    }
    if (!ok) return false;
    for (const [k, v] of eqs) {
      const got = k === 'pid' ? ev.pid : k === 'cpu' ? ev.cpu : k === 'comm' ? (d.input.cmdlines?.get(ev.pid) ?? commOf(d, ev.pid)) : jsonValue(ev.value(ev.fmt!.fields.find((f) => f.name === k)!));
      if (String(got) !== v) return false;
    }
    return true;
  };
}

/** The first matching event after t (dir 1) or the last before it (dir -1), decoded. */
export function search(d: ViewData, query: string, t: number, dir: 1 | -1): EventDetail | undefined {
  const match = matcher(d, query);
  if (!match) return undefined;
  const abs = d.meta.start + t;
  let found: EventDetail | undefined;
  if (dir > 0) {
    d.chunks.read(abs, d.meta.start + d.meta.end, (ev, s, nth) => {
      if (ev.ts <= abs || !match(ev)) return;
      found = detailOf(d, ev, s, nth);
      return false;
    });
    return found;
  }
  // Backwards: growing windows before t, the last match of the first window holding one.
  for (let span = 1e6; ; span *= 8) {
    const lo = Math.max(d.meta.start, abs - span);
    let last: string | undefined;
    d.chunks.read(lo, abs, (ev, s, nth) => {
      if (ev.ts < abs && match(ev)) last = `${d.meta.cpuTracks[s]!.buffer}:${ev.cpu}:${ev.ts - d.meta.start}:${nth}`;
    });
    if (last) return eventByRef(d, last);
    if (lo <= d.meta.start) return undefined;
  }
}
