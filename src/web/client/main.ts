/// <reference lib="dom" />
/**
 * The viewer page: reads the trace's metadata, lays out the tracks, and asks the server for the
 * visible window at the detail its pixels show whenever the view changes, drawing the last answer
 * meanwhile, so zooming and panning never wait on the trace's size.
 */
import { decodeBlock, type EventDetail, type FindingInfo, type ViewMeta, type WindowMeta } from '../schema.js';
import { fmtTime, nearest, niceStep, Viewport } from './draw.js';
import { CpuTrack, FindingTrack, GroupTrack, LABEL_W, MarkerTrack, ProcessTrack, ThreadTrack, type Paint, type Track, type WindowData } from './tracks.js';
import { decodeState, encodeState, type ViewState } from './url-state.js';

const AXIS_H = 22;
const token = new URLSearchParams(location.search).get('token') ?? '';
const api = (p: string) => `${p}${p.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const started = performance.now();

interface LkstHandle {
  painted: boolean;
  ready: boolean;
  firstPaintMs: number;
  frames: number;
  /** Draw times (ms) of the last frames, and round trips (ms) of the last window requests. */
  frameMs: number[];
  fetchMs: number[];
  rowsCount: number;
  view: { t0: number; t1: number };
  window?: WindowMeta;
  detail?: EventDetail;
  findings: FindingInfo[];
  zoom(factor: number, x?: number): void;
  pan(fraction: number): void;
  showAll(): void;
  setView(t0: number, t1: number): void;
  /** True once the data drawn is for the current view. */
  settled(): boolean;
  select(ref: string): Promise<void>;
  search(q: string, dir: 1 | -1): Promise<EventDetail | undefined>;
  trackXY(id: string, t: number): { x: number; y: number } | undefined;
}

const L: LkstHandle = ((window as unknown as { lkst: LkstHandle }).lkst = {
  painted: false,
  ready: false,
  firstPaintMs: 0,
  frames: 0,
  frameMs: [],
  fetchMs: [],
  rowsCount: 0,
  view: { t0: 0, t1: 1 },
  findings: [],
} as unknown as LkstHandle);

const cv = $<HTMLCanvasElement>('cv');
const ctx = cv.getContext('2d')!;
const tip = $<HTMLDivElement>('tip');
let meta: ViewMeta;
let tracks: Track[] = [];
let rows: Track[] = [];
let scrollY = 0;
let win: WindowData | undefined;
let winKey = '';
let selected: EventDetail | undefined;
const vp = new Viewport(0, 1, LABEL_W, 1);
const comms = new Map<number, string>();
const state: ViewState = decodeState(location.hash);

function buildTracks(): void {
  const t: Track[] = [new MarkerTrack(), new FindingTrack()];
  const several = meta.buffers.length > 1;
  meta.buffers.forEach((name, b) => {
    const cpus = meta.cpuTracks.filter((c) => c.buffer === b);
    if (several) t.push(new GroupTrack(name));
    for (const c of cpus) t.push(new CpuTrack(c, several ? name || 'top' : ''));
  });
  for (const p of meta.processes) {
    for (const th of p.threads) comms.set(th.pid, th.comm);
    const header = p.threads.length > 1 || p.known;
    if (header) t.push(new ProcessTrack(p));
    for (const th of p.threads) t.push(new ThreadTrack(th, header));
  }
  tracks = t;
}

/** The rows shown: folded groups hide their members; the filters keep matching tasks and CPUs. */
function layout(): void {
  const taskQ = $<HTMLInputElement>('task').value.trim().toLowerCase();
  const cpuQ = $<HTMLInputElement>('cpu').value.trim();
  const cpuSet = cpuQ ? new Set(cpuQ.split(/[ ,]+/).filter(Boolean).map(Number)) : undefined;
  rows = [];
  let folded = false;
  let groupFolded = false;
  for (const t of tracks) {
    if (t instanceof GroupTrack) {
      groupFolded = !t.open;
      rows.push(t);
      continue;
    }
    if (t instanceof CpuTrack) {
      if (!groupFolded && (!cpuSet || cpuSet.has(t.info.cpu))) rows.push(t);
      continue;
    }
    if (t instanceof ProcessTrack) {
      folded = !t.open;
      const match = !taskQ || t.info.threads.some((th) => `${th.comm}:${th.pid}`.toLowerCase().includes(taskQ));
      if (match) rows.push(t);
      continue;
    }
    if (t instanceof ThreadTrack) {
      if (!folded && (!taskQ || t.label().toLowerCase().includes(taskQ))) rows.push(t);
      continue;
    }
    rows.push(t);
  }
  let y = AXIS_H;
  for (const r of rows) {
    r.y = y;
    y += r.height;
  }
  L.rowsCount = rows.length;
}

function visibleRows(): Track[] {
  const h = cv.clientHeight;
  return rows.filter((r) => r.y - scrollY + r.height >= AXIS_H && r.y - scrollY <= h);
}

// Window requests: one in flight; a change meanwhile asks again when it returns.
let inFlight = false;
let again = false;
function requestKey(): string {
  const px = Math.max(1, Math.round(cv.clientWidth - LABEL_W));
  const ids = visibleRows().flatMap((r) => r.wants());
  return `t0=${vp.t0}&t1=${vp.t1}&px=${px}&tracks=${encodeURIComponent(ids.join(','))}`;
}
async function fetchWindow(): Promise<void> {
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  try {
    do {
      again = false;
      const key = requestKey();
      if (key === winKey) break;
      const t = performance.now();
      const r = await fetch(api(`/api/window?${key}`));
      if (!r.ok) throw new Error(`window: ${r.status} ${await r.text()}`);
      const b = decodeBlock<WindowMeta>(await r.arrayBuffer());
      L.fetchMs.push(performance.now() - t);
      if (L.fetchMs.length > 200) L.fetchMs.shift();
      win = b;
      winKey = key;
      L.window = b.meta;
      redraw();
    } while (again);
  } finally {
    inFlight = false;
  }
}

function draw(): void {
  const t = performance.now();
  const dpr = window.devicePixelRatio || 1;
  const W = cv.clientWidth;
  const H = cv.clientHeight;
  if (cv.width !== Math.round(W * dpr) || cv.height !== Math.round(H * dpr)) {
    cv.width = Math.round(W * dpr);
    cv.height = Math.round(H * dpr);
  }
  vp.width = Math.max(1, W - LABEL_W);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  const p: Paint = { ctx, vp, win, meta, right: W, commOf: (pid) => comms.get(pid) ?? (pid === 0 ? 'swapper' : '?'), findings: L.findings };
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, AXIS_H, W, H - AXIS_H);
  ctx.clip();
  for (const r of visibleRows()) {
    const y = r.y - scrollY;
    ctx.fillStyle = r.shade();
    ctx.fillRect(LABEL_W, y, W - LABEL_W, r.height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, y, W - LABEL_W, r.height);
    ctx.clip();
    r.draw(p, y);
    ctx.restore();
    ctx.fillStyle = '#263238';
    ctx.fillRect(0, y, LABEL_W, r.height);
    ctx.fillStyle = r instanceof CpuTrack ? '#fff' : '#cfd8dc';
    ctx.font = r instanceof CpuTrack || r instanceof ProcessTrack ? 'bold 11px system-ui' : '11px system-ui';
    ctx.fillText(r.label().slice(0, 26), 4 + r.indent, y + r.height - 5);
  }
  drawFlows(p);
  if (selected) {
    const x = vp.x(selected.rel);
    ctx.strokeStyle = '#d50000';
    ctx.beginPath();
    ctx.moveTo(x + 0.5, AXIS_H);
    ctx.lineTo(x + 0.5, H);
    ctx.stroke();
  }
  ctx.restore();
  drawAxis(W);
  L.frames++;
  L.frameMs.push(performance.now() - t);
  if (L.frameMs.length > 200) L.frameMs.shift();
  if (!L.painted && win) {
    L.painted = true;
    L.firstPaintMs = performance.now() - started;
    // The side panel's analyses start on the server only now: they would compete with this paint.
    void loadSummary().catch(showError);
  }
  $('status').textContent = `${meta.events.toLocaleString()} events${meta.lostTotal ? `, ${meta.lostTotal.toLocaleString()} lost` : ''}; ${win?.meta.bucketNs ? `summary ${fmtTime(win.meta.bucketNs)}/bucket` : 'events'}; ${fmtTime(vp.span)} shown`;
}

function drawAxis(W: number): void {
  ctx.fillStyle = '#37474f';
  ctx.fillRect(0, 0, W, AXIS_H);
  ctx.fillStyle = '#fff';
  ctx.font = '11px system-ui';
  const step = niceStep(vp.span, vp.width);
  // The first tick names its time; the others how far they are from it (readable at any zoom).
  let first: number | undefined;
  for (let t = Math.ceil(vp.t0 / step) * step; t <= vp.t1; t += step) {
    const x = vp.x(t);
    if (x < LABEL_W) continue;
    ctx.fillRect(x, AXIS_H - 6, 1, 6);
    ctx.fillText(first === undefined ? fmtTime(t) : `+${fmtTime(t - first)}`, x + 2, 12);
    first ??= t;
  }
  ctx.fillText(`+${fmtTime(vp.span)}`, 4, 14);
}

/** Wakeup -> run arrows between thread rows (from the waker's row when shown, else a hook on the woken row). */
let flowHits: { x: number; y: number; text: string }[] = [];
function drawFlows(p: Paint): void {
  flowHits = [];
  const c = win?.cols;
  if (!c?.['flow/run']) return;
  const rowY = new Map<number, number>();
  for (const r of visibleRows()) if (r instanceof ThreadTrack) rowY.set(r.info.pid, r.y - scrollY + r.height / 2);
  const wake = c['flow/wake']!;
  const run = c['flow/run']!;
  const pid = c['flow/pid']!;
  const waker = c['flow/waker']!;
  // Many arrows at once would hide the rows: fainter the more there are.
  ctx.strokeStyle = `rgba(46,125,50,${run.length > 200 ? 0.25 : 0.8})`;
  ctx.lineWidth = 1;
  for (let i = 0; i < run.length; i++) {
    const y1 = rowY.get(pid[i]!);
    const y0 = rowY.get(waker[i]!) ?? y1;
    if (y1 === undefined || y0 === undefined) continue;
    const x0 = vp.x(wake[i]!);
    const x1 = vp.x(run[i]!);
    if (x1 < LABEL_W || x0 > p.right) continue;
    ctx.beginPath();
    ctx.moveTo(Math.max(LABEL_W, x0), y0);
    ctx.lineTo(x1, y1);
    ctx.lineTo(x1 - 3, y1 - 3);
    ctx.stroke();
    flowHits.push({ x: x1, y: y1, text: `${p.commOf(waker[i]!)}:${waker[i]} woke ${p.commOf(pid[i]!)}:${pid[i]}\nran after ${fmtTime(run[i]! - wake[i]!)} (CPU ${c['flow/cpu']![i]})` });
  }
}

let pending = false;
function redraw(): void {
  if (pending || !meta) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    draw();
  });
}

/** A view change: redraw now from what is held, ask for the new window, note it in the URL. */
function changed(): void {
  vp.clamp(meta.end);
  L.view = { t0: vp.t0, t1: vp.t1 };
  redraw();
  void fetchWindow().catch(showError);
  saveState();
}
let saveTimer = 0;
function saveState(): void {
  clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => {
    state.t0 = vp.t0;
    state.t1 = vp.t1;
    state.task = $<HTMLInputElement>('task').value;
    state.cpu = $<HTMLInputElement>('cpu').value;
    state.q = $<HTMLInputElement>('q').value;
    history.replaceState(null, '', `${location.pathname}${location.search}#${encodeState(state)}`);
  }, 200);
}

function showError(e: unknown): void {
  $('status').textContent = `error: ${(e as Error).message}`;
}

async function getJson<T>(path: string): Promise<T | undefined> {
  const r = await fetch(api(path));
  if (r.status === 404) return undefined;
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return (await r.json()) as T;
}

function showDetail(d: EventDetail | undefined): void {
  selected = d;
  L.detail = d;
  state.sel = d?.ref;
  $('evtitle').textContent = d ? d.event : 'no event there';
  const box = $('detail');
  box.replaceChildren();
  if (!d) return;
  const tbl = document.createElement('table');
  const add = (k: string, v: unknown) => {
    const tr = tbl.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = typeof v === 'string' ? v : JSON.stringify(v);
  };
  add('time', `${(d.ts / 1e9).toFixed(9)} (+${fmtTime(d.rel)})`);
  add('cpu', `${d.buffer ? `${d.buffer} ` : ''}${d.cpu}`);
  add('task', `${d.comm}:${d.pid}`);
  for (const [k, v] of Object.entries(d.fields)) add(k, v);
  box.append(tbl);
  saveState();
  redraw();
}

/** Brings an event into view (keeping the zoom when it is inside) and shows it. */
function goTo(d: EventDetail): void {
  if (d.rel < vp.t0 || d.rel > vp.t1) {
    const span = Math.min(vp.span, 1e6);
    vp.t0 = d.rel - span / 2;
    vp.t1 = d.rel + span / 2;
    changed();
  }
  showDetail(d);
}

L.zoom = (f, x) => {
  vp.zoom(f, x ?? LABEL_W + vp.width / 2);
  changed();
};
L.pan = (f) => {
  vp.pan(f);
  changed();
};
L.showAll = () => {
  vp.t0 = -Infinity;
  vp.t1 = Infinity;
  changed();
};
L.setView = (t0, t1) => {
  vp.t0 = t0;
  vp.t1 = t1;
  changed();
};
L.settled = () => !inFlight && winKey === requestKey();
L.select = async (ref) => showDetail(await getJson<EventDetail>(`/api/event?ref=${encodeURIComponent(ref)}`));
L.search = async (q, dir) => {
  const from = selected?.rel ?? (dir > 0 ? vp.t0 - 1 : vp.t1 + 1);
  const d = await getJson<EventDetail>(`/api/search?q=${encodeURIComponent(q)}&t=${from}&dir=${dir > 0 ? 'next' : 'prev'}`);
  if (d) goTo(d);
  else $('status').textContent = `no ${dir > 0 ? 'later' : 'earlier'} match for ${q}`;
  return d;
};
L.trackXY = (id, t) => {
  const r = rows.find((x) => x.id === id);
  return r ? { x: vp.x(t), y: r.y - scrollY + r.height - 3 } : undefined;
};

function rowAt(y: number): Track | undefined {
  return rows.find((r) => y + scrollY >= r.y && y + scrollY < r.y + r.height);
}

/** A click: fold a group by its label; else the event nearest the click on a CPU row. */
async function pick(x: number, y: number): Promise<void> {
  const r = rowAt(y);
  if (!r) return;
  if (x < LABEL_W) {
    if (r instanceof ProcessTrack || r instanceof GroupTrack) {
      r.open = !r.open;
      layout();
      changed();
    }
    return;
  }
  if (!(r instanceof CpuTrack)) return;
  const t = vp.t(x);
  const tol = (5 * vp.span) / vp.width;
  const ts = win?.cols[`${r.id}/ev.ts`];
  if (ts && win && win.meta.t0 <= t && t <= win.meta.t1) {
    const i = nearest(ts, t, tol);
    if (i < 0) return showDetail(undefined);
    const nth = win.cols[`${r.id}/ev.nth`]![i]!;
    return L.select(`${r.info.buffer}:${r.info.cpu}:${ts[i]}:${nth}`);
  }
  showDetail(await getJson<EventDetail>(`/api/event?track=${encodeURIComponent(r.id)}&t=${t}&tol=${tol}`));
}

function bindInput(): void {
  cv.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      if (e.offsetX < LABEL_W || e.shiftKey) {
        scrollY = Math.max(0, Math.min(scrollY + e.deltaY, rows.length ? rows[rows.length - 1]!.y : 0));
        changed();
        return;
      }
      vp.zoom(Math.exp(e.deltaY * 0.002), e.offsetX);
      changed();
    },
    { passive: false },
  );
  let drag: { x: number; y: number; t0: number; t1: number; sy: number; moved: boolean } | undefined;
  cv.addEventListener('mousedown', (e) => {
    drag = { x: e.offsetX, y: e.offsetY, t0: vp.t0, t1: vp.t1, sy: scrollY, moved: false };
  });
  window.addEventListener('mouseup', () => {
    if (drag && !drag.moved) void pick(drag.x, drag.y).catch(showError);
    drag = undefined;
  });
  cv.addEventListener('mousemove', (e) => {
    const hit = flowHits.find((h) => Math.abs(h.x - e.offsetX) < 6 && Math.abs(h.y - e.offsetY) < 6);
    tip.style.display = hit ? 'block' : 'none';
    if (hit) {
      tip.textContent = hit.text;
      tip.style.left = `${e.offsetX + 12}px`;
      tip.style.top = `${e.offsetY + 12}px`;
    }
    if (!drag) return;
    const dx = e.offsetX - drag.x;
    const dy = e.offsetY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    const dt = (dx / vp.width) * (drag.t1 - drag.t0);
    vp.t0 = drag.t0 - dt;
    vp.t1 = drag.t1 - dt;
    scrollY = Math.max(0, drag.sy - dy);
    changed();
  });
  window.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement).tagName === 'INPUT') {
      if (e.key === 'Enter' && e.target === $('q')) void L.search($<HTMLInputElement>('q').value, e.shiftKey ? -1 : 1).catch(showError);
      return;
    }
    const k = e.key;
    if (k === 'w') L.zoom(0.8);
    else if (k === 's') L.zoom(1.25);
    else if (k === 'a') L.pan(-0.1);
    else if (k === 'd') L.pan(0.1);
    else if (k === '0') L.showAll();
    else if (k === 'n' || k === 'N') void L.search($<HTMLInputElement>('q').value, k === 'N' ? -1 : 1).catch(showError);
  });
  $('next').addEventListener('click', () => void L.search($<HTMLInputElement>('q').value, 1).catch(showError));
  $('prev').addEventListener('click', () => void L.search($<HTMLInputElement>('q').value, -1).catch(showError));
  $('all').addEventListener('click', () => L.showAll());
  for (const id of ['task', 'cpu']) {
    $(id).addEventListener('input', () => {
      layout();
      changed();
    });
  }
  new ResizeObserver(() => changed()).observe(cv);
}

interface Summary {
  stats?: { events: number; lostTotal: number; lostExact: boolean; lostUncertain: string[]; byEvent: { event: string; count: number }[] };
  findings?: { kind: string; ts: number; message: string; uncertain?: string; evidence: { ts: number }[] }[];
}

async function loadSummary(): Promise<void> {
  const s = (await getJson<Summary>('/api/summary')) ?? {};
  L.findings = (s.findings ?? []).map((f) => ({ kind: f.kind, ts: f.ts, message: f.message, uncertain: f.uncertain, evidence: f.evidence.map((e) => e.ts) }));
  const fl = $('findings');
  fl.replaceChildren();
  if (!L.findings.length) fl.textContent = 'none';
  for (const f of L.findings) {
    const div = document.createElement('div');
    div.className = f.uncertain ? 'finding uncertain' : 'finding';
    div.textContent = `${f.kind}: ${f.message}${f.uncertain ? ` (uncertain: ${f.uncertain})` : ''}`;
    div.addEventListener('click', () => {
      const t = f.ts - meta.start;
      L.setView(t - 5e5, t + 5e5);
    });
    fl.append(div);
  }
  const sum = $('summary');
  sum.replaceChildren();
  const tbl = document.createElement('table');
  const add = (k: string, v: string) => {
    const tr = tbl.insertRow();
    tr.insertCell().textContent = k;
    const c = tr.insertCell();
    c.className = 'n';
    c.textContent = v;
  };
  if (s.stats) {
    add('events', s.stats.events.toLocaleString('en-US'));
    add('lost', `${s.stats.lostTotal.toLocaleString('en-US')}${s.stats.lostExact ? '' : ` (uncertain: ${s.stats.lostUncertain.join('; ')})`}`);
    for (const e of s.stats.byEvent.slice(0, 20)) add(e.event, e.count.toLocaleString('en-US'));
  }
  sum.append(tbl);
  redraw();
}

async function main(): Promise<void> {
  const m = await getJson<ViewMeta>('/api/meta');
  if (!m) throw new Error('no metadata');
  meta = m;
  buildTracks();
  for (const k of ['task', 'cpu', 'q'] as const) if (state[k]) $<HTMLInputElement>(k).value = state[k]!;
  layout();
  bindInput();
  if (state.t0 !== undefined && state.t1 !== undefined) {
    vp.t0 = state.t0;
    vp.t1 = state.t1;
  } else {
    vp.t0 = -Infinity;
    vp.t1 = Infinity;
  }
  vp.width = Math.max(1, cv.clientWidth - LABEL_W);
  changed();
  L.ready = true;
  if (state.sel) void L.select(state.sel).catch(showError);
}

main().catch(showError);
