/**
 * The viewer page: one HTML document with its script inline (served from memory; nothing loaded
 * from elsewhere). The script reads the binary columns, builds per-row indexes, and draws the
 * visible window on a canvas with level of detail: within a row, once something is drawn at a
 * pixel, it jumps by binary search to the first item of the next pixel, so a frame costs about
 * rows x pixels, whatever the number of events.
 */

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:12px system-ui,sans-serif;color:#222;background:#fafafa;display:flex;flex-direction:column;height:100vh}
header{display:flex;gap:8px;align-items:center;padding:4px 8px;background:#263238;color:#eee;flex-wrap:wrap}
header b{font-size:14px}header input{width:140px}header button{cursor:pointer}
#tabs button.on{background:#90caf9}
main{flex:1;display:flex;min-height:0}
#tl{flex:1;position:relative;min-width:0}
canvas{display:block;width:100%;height:100%;cursor:crosshair}
aside{width:340px;overflow:auto;border-left:1px solid #ccc;padding:6px;background:#fff}
aside h3{margin:6px 0 4px;font-size:13px}
table{border-collapse:collapse;font-size:11px}td,th{padding:1px 6px;text-align:left;border-bottom:1px solid #eee}td.n{text-align:right}
#types{position:absolute;top:0;right:0;max-height:60%;overflow:auto;background:#fff;border:1px solid #999;padding:4px;display:none;z-index:2}
#status{margin-left:auto;font-size:11px;color:#b0bec5}
.finding{border-left:3px solid #d32f2f;padding:2px 6px;margin:4px 0;background:#ffebee}
pre{white-space:pre-wrap;font-size:11px;margin:2px 0}
`;

const SCRIPT = String.raw`
const token = new URLSearchParams(location.search).get('token');
const api = (p) => p + (p.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
const $ = (id) => document.getElementById(id);
const started = performance.now();
const L = (window.lkst = { painted: false, firstPaintMs: 0, selected: -1, frames: 0 });
const LABEL_W = 150, AXIS_H = 22, CPU_H = 24, TASK_H = 16;

function fmtT(ns) {
  const a = Math.abs(ns);
  if (a < 1e3) return ns.toFixed(0) + ' ns';
  if (a < 1e6) return (ns / 1e3).toFixed(a < 1e4 ? 2 : 1) + ' us';
  if (a < 1e9) return (ns / 1e6).toFixed(a < 1e7 ? 3 : 2) + ' ms';
  return (ns / 1e9).toFixed(4) + ' s';
}
function hue(pid) { return ((pid * 2654435761) >>> 0) % 360; }
const colors = new Map();
function color(pid) {
  let c = colors.get(pid);
  if (!c) colors.set(pid, (c = pid === 0 ? '#cfd8dc' : 'hsl(' + hue(pid) + ',55%,55%)'));
  return c;
}

/** Parses the blob: u32 header length, JSON, then 8-aligned typed arrays. */
function parse(buf) {
  const dv = new DataView(buf);
  const hl = dv.getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, hl)));
  let p = 4 + hl; p += (8 - (p % 8)) % 8;
  const c = {};
  for (const col of head.columns) {
    const bytes = col.length * (col.kind === 'f64' ? 8 : 4);
    c[col.name] = col.kind === 'f64' ? new Float64Array(buf, p, col.length) : new Int32Array(buf, p, col.length);
    p += bytes + ((8 - (bytes % 8)) % 8);
  }
  return { meta: head.meta, c };
}

/** Groups item indexes by a key column (items already in time order stay in order). */
function groupBy(keys, n) {
  const counts = new Map();
  for (let i = 0; i < n; i++) counts.set(keys[i], (counts.get(keys[i]) || 0) + 1);
  const out = new Map(), fill = new Map();
  for (const [k, m] of counts) { out.set(k, new Int32Array(m)); fill.set(k, 0); }
  for (let i = 0; i < n; i++) { const k = keys[i]; const f = fill.get(k); out.get(k)[f] = i; fill.set(k, f + 1); }
  return out;
}
/** First position in idx whose time (times[idx[pos]]) is >= t. */
function lowerBound(idx, times, t) {
  let lo = 0, hi = idx.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (times[idx[m]] < t) lo = m + 1; else hi = m; }
  return lo;
}

let D, rows = [], view = { t0: 0, t1: 1 }, scrollY = 0, typeOn = null, hover = null;
const cv = $('cv'), ctx = cv.getContext('2d');

function buildRows() {
  const m = D.meta;
  const taskQ = $('task').value.trim().toLowerCase();
  const cpuQ = $('cpu').value.trim();
  const cpuSet = cpuQ ? new Set(cpuQ.split(/[ ,]+/).filter(Boolean).map(Number)) : null;
  rows = [];
  for (const cpu of m.cpus) if (!cpuSet || cpuSet.has(cpu)) rows.push({ kind: 'cpu', key: cpu, label: 'CPU ' + cpu, h: CPU_H });
  // A trace of several buffers: each buffer's CPUs as rows of their own (its events and losses), under the CPUs.
  if (m.buffers.length > 1) {
    for (let b = 0; b < m.buffers.length; b++) {
      for (const cpu of m.cpus) {
        const key = b * BUF_KEY + cpu;
        if ((!cpuSet || cpuSet.has(cpu)) && (D.evByBuf.has(key) || D.lostByBuf.has(key))) rows.push({ kind: 'buf', key, label: (m.buffers[b] || 'top') + ' CPU ' + cpu, h: TASK_H });
      }
    }
  }
  for (const t of m.tasks) {
    const label = t.comm + ':' + t.pid;
    if (taskQ && !label.toLowerCase().includes(taskQ)) continue;
    rows.push({ kind: 'task', key: t.pid, label, h: TASK_H });
  }
  let y = AXIS_H;
  for (const r of rows) { r.y = y; y += r.h; }
  L.rowsCount = rows.length;
}

function index() {
  const c = D.c, n = c['ev.ts'].length;
  D.n = n;
  D.evByCpu = groupBy(c['ev.cpu'], n);
  D.evByPid = groupBy(c['ev.pid'], n);
  D.wakeByPid = new Map();
  const tg = c['ev.target'];
  const w = [];
  for (let i = 0; i < n; i++) if (tg[i] >= 0) w.push(i);
  const wi = Int32Array.from(w);
  D.wakeByPid = groupBy(Int32Array.from(w, (i) => tg[i]), wi.length);
  for (const [k, arr] of D.wakeByPid) for (let j = 0; j < arr.length; j++) arr[j] = wi[arr[j]];
  D.runByCpu = groupBy(c['run.cpu'], c['run.start'].length);
  D.runByPid = groupBy(c['run.pid'], c['run.start'].length);
  // Slices are stored in end order; within a row they do not overlap, so that is start order too.
  D.irqByCpu = groupBy(c['irq.cpu'], c['irq.start'].length);
  D.lostByCpu = groupBy(c['lost.cpu'], c['lost.ts'].length);
  D.evByBuf = groupBy(Int32Array.from(c['ev.buf'], (b, i) => b * BUF_KEY + c['ev.cpu'][i]), n);
  D.lostByBuf = groupBy(Int32Array.from(c['lost.buf'], (b, i) => b * BUF_KEY + c['lost.cpu'][i]), c['lost.ts'].length);
}

/** Row key of a buffer's CPU: buffer index * BUF_KEY + cpu. */
const BUF_KEY = 65536;

// The canvas width, read once per frame (a DOM read per coordinate would dominate the frame).
let CW = 1;
const X = (t) => LABEL_W + ((t - view.t0) / (view.t1 - view.t0)) * (CW - LABEL_W);
const T = (x) => view.t0 + ((x - LABEL_W) / (CW - LABEL_W)) * (view.t1 - view.t0);

/** Red marks where events were lost. */
function drawLost(lost, y, W) {
  if (!lost) return;
  const ts = D.c['lost.ts'];
  ctx.fillStyle = '#d50000';
  for (const i of lost) { const x = X(ts[i]); if (x >= LABEL_W && x <= W) { ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x - 5, y + 8); ctx.lineTo(x + 5, y + 8); ctx.fill(); } }
}

/** Slices of one row, coalesced to at most one draw per pixel. */
function drawSlices(idx, start, end, y, h, colorOf) {
  if (!idx) return;
  let pos = Math.max(0, lowerBound(idx, end, view.t0));
  const W = CW;
  let last = '';
  while (pos < idx.length) {
    const i = idx[pos];
    if (start[i] > view.t1) break;
    const x0 = Math.max(LABEL_W, X(start[i])), x1 = Math.min(W, X(end[i]));
    const col = colorOf(i);
    if (col !== last) { ctx.fillStyle = col; last = col; }
    ctx.fillRect(x0, y, Math.max(1, x1 - x0), h);
    if (x1 - x0 < 1) { pos = Math.max(pos + 1, lowerBound(idx, start, T(Math.floor(x0) + 1))); } else pos++;
  }
}

/** Instants of one row as ticks in one path; filtered types are skipped, one tick per pixel at most. */
function drawTicks(idx, times, y, h, style, filterType) {
  if (!idx) return;
  const types = D.c['ev.type'];
  let pos = lowerBound(idx, times, view.t0);
  ctx.beginPath();
  while (pos < idx.length) {
    const i = idx[pos];
    const t = times[i];
    if (t > view.t1) break;
    if (filterType && typeOn && !typeOn[types[i]]) { pos++; continue; }
    const x = Math.floor(X(t));
    ctx.rect(x, y, 1, h);
    pos = Math.max(pos + 1, lowerBound(idx, times, T(x + 1)));
  }
  ctx.fillStyle = style;
  ctx.fill();
}

function niceStep(span, px) {
  const raw = span / Math.max(1, px / 90);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function draw() {
  const dpr = window.devicePixelRatio || 1;
  const W = cv.clientWidth, H = cv.clientHeight;
  CW = W;
  if (cv.width !== Math.round(W * dpr) || cv.height !== Math.round(H * dpr)) { cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr); }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  const c = D.c;
  ctx.save();
  ctx.beginPath(); ctx.rect(0, AXIS_H, W, H - AXIS_H); ctx.clip();
  for (const r of rows) {
    const y = r.y - scrollY;
    if (y + r.h < AXIS_H || y > H) continue;
    ctx.fillStyle = r.kind === 'cpu' ? '#eceff1' : (r.key % 2 ? '#fff' : '#f7f7f7');
    ctx.fillRect(LABEL_W, y, W - LABEL_W, r.h);
    ctx.save(); ctx.beginPath(); ctx.rect(LABEL_W, y, W - LABEL_W, r.h); ctx.clip();
    if (r.kind === 'cpu') {
      drawSlices(D.runByCpu.get(r.key), c['run.start'], c['run.end'], y + 2, r.h - 10, (i) => color(c['run.pid'][i]));
      drawSlices(D.irqByCpu.get(r.key), c['irq.start'], c['irq.end'], y + r.h - 8, 3, () => '#e65100');
      drawTicks(D.evByCpu.get(r.key), c['ev.ts'], y + r.h - 4, 4, '#455a64', true);
      drawLost(D.lostByCpu.get(r.key), y, W);
    } else if (r.kind === 'buf') {
      drawTicks(D.evByBuf.get(r.key), c['ev.ts'], y + r.h - 4, 4, '#455a64', true);
      drawLost(D.lostByBuf.get(r.key), y, W);
    } else {
      drawSlices(D.runByPid.get(r.key), c['run.start'], c['run.end'], y + 2, r.h - 6, () => color(r.key));
      drawTicks(D.evByPid.get(r.key), c['ev.ts'], y + r.h - 3, 3, '#37474f', true);
      drawTicks(D.wakeByPid.get(r.key), c['ev.ts'], y, 5, '#2e7d32', false);
    }
    ctx.restore();
    ctx.fillStyle = '#263238';
    ctx.fillRect(0, y, LABEL_W, r.h);
    ctx.fillStyle = r.kind === 'cpu' ? '#fff' : '#cfd8dc';
    ctx.font = (r.kind === 'cpu' ? 'bold 12px' : '11px') + ' system-ui';
    ctx.fillText(r.label.slice(0, 22), 4, y + r.h - 5);
  }
  // Markers across all rows; maskset switches stand out.
  for (const mk of D.meta.markers) {
    const x = X(mk.ts); if (x < LABEL_W || x > W) continue;
    const sw = /lkst: maskset/.test(mk.text);
    ctx.fillStyle = sw ? 'rgba(106,27,154,0.8)' : 'rgba(21,101,192,0.5)';
    ctx.fillRect(x, AXIS_H, sw ? 2 : 1, H);
  }
  if (L.selected >= 0) {
    const x = X(c['ev.ts'][L.selected]);
    ctx.strokeStyle = '#d50000'; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(x + 0.5, AXIS_H); ctx.lineTo(x + 0.5, H); ctx.stroke();
  }
  ctx.restore();
  // Time axis.
  ctx.fillStyle = '#37474f'; ctx.fillRect(0, 0, W, AXIS_H);
  ctx.fillStyle = '#fff'; ctx.font = '11px system-ui';
  const step = niceStep(view.t1 - view.t0, W - LABEL_W);
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) { const x = X(t); ctx.fillRect(x, AXIS_H - 6, 1, 6); ctx.fillText(fmtT(t), x + 2, 12); }
  for (const mk of D.meta.markers) { const x = X(mk.ts); if (x >= LABEL_W && x <= W) { ctx.fillStyle = /lkst: maskset/.test(mk.text) ? '#e1bee7' : '#bbdefb'; ctx.fillText(mk.text.slice(0, 30), x + 2, AXIS_H - 2); } }
  ctx.fillStyle = '#ff5252';
  for (const f of L.findings || []) for (const e of f.evidence) { const x = X(e.ts - D.meta.start); if (x >= LABEL_W && x <= W) { ctx.beginPath(); ctx.moveTo(x, AXIS_H); ctx.lineTo(x - 5, AXIS_H - 8); ctx.lineTo(x + 5, AXIS_H - 8); ctx.fill(); } }
  ctx.fillStyle = '#fff'; ctx.fillText('+' + fmtT(view.t1 - view.t0) + ' shown', 4, 12);
  L.frames++;
  if (!L.painted) { L.painted = true; L.firstPaintMs = performance.now() - started; $('status').textContent = D.n.toLocaleString() + ' events, first paint ' + L.firstPaintMs.toFixed(0) + ' ms'; }
}

let pending = false;
function redraw() { if (D && !pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } }

function clampView() {
  const span = Math.max(1000, view.t1 - view.t0), full = Math.max(1, D.meta.end);
  let t0 = view.t0, t1 = t0 + span;
  if (span >= full * 1.05) { t0 = -full * 0.02; t1 = full * 1.03; }
  view = { t0, t1 };
  L.view = view;
}
function zoom(factor, x) {
  const t = T(x);
  view = { t0: t - (t - view.t0) * factor, t1: t + (view.t1 - t) * factor };
  clampView(); redraw();
}
L.zoom = (factor, x) => zoom(factor, x ?? (LABEL_W + cv.clientWidth) / 2);
L.eventXY = (i) => {
  const r = rows.find((r) => r.kind === 'cpu' && r.key === D.c['ev.cpu'][i]);
  return r ? { x: X(D.c['ev.ts'][i]), y: r.y - scrollY + r.h - 2 } : null;
};
/** Index of the first event at or after absolute time ts (ns). */
L.indexAt = (ts) => { const t = D.c['ev.ts']; let lo = 0, hi = t.length; const r = ts - D.meta.start; while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] < r) lo = m + 1; else hi = m; } return lo; };
L.select = (i) => select(i);
L.showAll = () => { const full = D.meta.end || 1; view = { t0: -full * 0.02, t1: full * 1.03 }; L.view = view; redraw(); };

cv.addEventListener('wheel', (e) => {
  e.preventDefault();
  if (e.offsetX < LABEL_W || e.shiftKey) { scrollY = Math.max(0, Math.min(scrollY + e.deltaY, rows.length ? rows[rows.length - 1].y : 0)); redraw(); return; }
  zoom(Math.exp(e.deltaY * 0.002), e.offsetX);
}, { passive: false });
let drag = null;
cv.addEventListener('mousedown', (e) => { drag = { x: e.offsetX, y: e.offsetY, t0: view.t0, t1: view.t1, sy: scrollY, moved: false }; });
window.addEventListener('mouseup', (e) => { if (drag && !drag.moved) pick(drag.x, drag.y); drag = null; });
cv.addEventListener('mousemove', (e) => {
  if (!drag) return;
  const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
  const dt = (dx / (cv.clientWidth - LABEL_W)) * (drag.t1 - drag.t0);
  view = { t0: drag.t0 - dt, t1: drag.t1 - dt };
  scrollY = Math.max(0, drag.sy - dy);
  clampView(); redraw();
});
window.addEventListener('keydown', (e) => {
  if (e.target.tagName === 'INPUT') return;
  const mid = (LABEL_W + cv.clientWidth) / 2, span = view.t1 - view.t0;
  if (e.key === 'w') zoom(0.8, mid); else if (e.key === 's') zoom(1.25, mid);
  else if (e.key === 'a') { view = { t0: view.t0 - span * 0.1, t1: view.t1 - span * 0.1 }; clampView(); redraw(); }
  else if (e.key === 'd') { view = { t0: view.t0 + span * 0.1, t1: view.t1 + span * 0.1 }; clampView(); redraw(); }
});
new ResizeObserver(() => { CW = cv.clientWidth; redraw(); }).observe(cv);

/** The event nearest to x in the row at y (within 5 px), else the slice under x. */
function pick(x, y) {
  const r = rows.find((r) => y + scrollY >= r.y && y + scrollY < r.y + r.h);
  if (!r || x < LABEL_W) return;
  const c = D.c, ts = c['ev.ts'], types = c['ev.type'];
  const idx = (r.kind === 'cpu' ? D.evByCpu : r.kind === 'buf' ? D.evByBuf : D.evByPid).get(r.key);
  let best = -1, bestD = 6;
  if (idx) {
    const pos = lowerBound(idx, ts, T(x));
    for (let k = Math.max(0, pos - 50); k < Math.min(idx.length, pos + 50); k++) {
      const i = idx[k]; if (typeOn && !typeOn[types[i]]) continue;
      const d = Math.abs(X(ts[i]) - x); if (d < bestD) { bestD = d; best = i; }
    }
  }
  if (best >= 0) return select(best);
  const runs = r.kind === 'cpu' ? D.runByCpu.get(r.key) : r.kind === 'buf' ? undefined : D.runByPid.get(r.key);
  if (runs) {
    const t = T(x), s = c['run.start'], en = c['run.end'];
    const pos = lowerBound(runs, en, t);
    if (pos < runs.length && s[runs[pos]] <= t) {
      const i = runs[pos]; const pid = c['run.pid'][i];
      const task = D.meta.tasks.find((q) => q.pid === pid);
      $('detail').innerHTML = '<h3>Running</h3><table>' + row('task', (task ? task.comm : '') + ':' + pid) + row('CPU', c['run.cpu'][i]) + row('from', fmtT(s[i])) + row('for', fmtT(en[i] - s[i])) + '</table>';
    }
  }
}
function esc(s) { return String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]); }
function row(k, v, n) { return '<tr><th>' + esc(k) + '</th><td' + (n ? ' class=n' : '') + '>' + esc(v) + '</td></tr>'; }
async function select(i) {
  L.selected = i; redraw();
  const r = await fetch(api('/api/event?i=' + i));
  const d = await r.json();
  let h = '<h3 id="evtitle">' + esc(d.event) + '</h3><table>' + row('time', (d.ts / 1e9).toFixed(6) + ' s (+' + fmtT(d.rel) + ')') + row('CPU', d.cpu) + row('task', d.comm + ':' + d.pid);
  for (const [k, v] of Object.entries(d.fields)) h += row(k, typeof v === 'object' ? JSON.stringify(v) : v);
  $('detail').innerHTML = h + '</table>';
  L.detail = d;
}

function typeList() {
  const m = D.meta;
  typeOn = m.types.map(() => true);
  $('types').innerHTML = m.types.map((t, i) => '<label><input type=checkbox data-i=' + i + ' checked> ' + esc(t) + ' <small>(' + (m.counts[t] || 0) + ')</small></label><br>').join('');
  $('types').addEventListener('change', (e) => { typeOn[+e.target.dataset.i] = e.target.checked; redraw(); });
  $('evfilter').addEventListener('input', () => {
    const q = $('evfilter').value.trim().toLowerCase();
    typeOn = m.types.map((t) => !q || q.split(/[ ,]+/).some((w) => t.toLowerCase().includes(w)));
    for (const cb of $('types').querySelectorAll('input')) cb.checked = typeOn[+cb.dataset.i];
    redraw();
  });
}

function showSummary(s) {
  const st = s.stats;
  let h = '<h3>Findings (' + s.findings.length + ')</h3>';
  L.findings = s.findings;
  for (const [k, f] of s.findings.entries()) {
    h += '<div class=finding data-f=' + k + ' title="click: show on the timeline"><b>' + esc(f.kind) + '</b> ' + esc(f.message) + '<pre>' + f.evidence.map((e) => (e.ts / 1e9).toFixed(6) + ' [' + e.cpu + '] ' + e.pid + ' ' + e.event + ' ' + Object.entries(e.fields).map(([k, v]) => k + '=' + v).join(' ')).map(esc).join('\n') + '</pre></div>';
  }
  if (!s.timers.coverage.freeEvents) h += '<p><small>no kmem free events in this trace: timers on freed memory cannot be checked</small></p>';
  h += '<h3>Trace</h3><table>' + row('events', st.events.toLocaleString(), 1) + row('span', fmtT(st.spanNs), 1) + row('lost', st.lostTotal.toLocaleString() + (st.lostExact ? '' : ' (at least; uncertain)'), 1) + (st.lostBefore ? row('overwritten before this recording', st.lostBefore.toLocaleString(), 1) : '') + '</table>';
  h += '<h3>Per buffer and CPU</h3><table><tr><th>buffer</th><th>cpu</th><th>events</th><th>lost</th><th>before</th></tr>' + st.byCpu.map((c) => '<tr><td>' + esc(c.buffer || 'top') + '</td><td>' + c.cpu + '</td><td class=n>' + c.events.toLocaleString() + '</td><td class=n>' + c.lost + (c.lostExact ? '' : '+') + '</td><td class=n>' + c.lostBefore + '</td></tr>').join('') + '</table>';
  h += '<h3>Busiest tasks</h3><table><tr><th>task</th><th>on cpu</th><th>events</th></tr>' + st.tasks.slice(0, 15).map((t) => '<tr><td>' + esc(t.comm + ':' + t.pid) + '</td><td class=n>' + fmtT(t.runNs) + '</td><td class=n>' + t.events.toLocaleString() + '</td></tr>').join('') + '</table>';
  h += '<h3>Events per type</h3><table>' + st.byEvent.slice(0, 40).map((e) => '<tr><td>' + esc(e.event) + '</td><td class=n>' + e.count.toLocaleString() + '</td></tr>').join('') + '</table>';
  if (st.irqs.length) h += '<h3>Interrupts</h3><table>' + st.irqs.slice(0, 15).map((i) => '<tr><td>' + esc(i.name) + '</td><td class=n>' + i.count + '</td><td class=n>' + (i.timed ? fmtT(i.totalNs) : '') + '</td></tr>').join('') + '</table>';
  const w = s.latency.wakeup.all;
  h += '<h3>Wakeup latency</h3><table>' + row('wakeups', w.count, 1) + row('p50 <=', fmtT(w.p50Ns), 1) + row('p99 <=', fmtT(w.p99Ns), 1) + row('max', fmtT(w.maxNs), 1) + '</table>';
  $('summary').innerHTML = h;
  $('summary').addEventListener('click', (e) => { const el = e.target.closest('.finding'); if (el) L.showFinding(+el.dataset.f); });
}
/** Zooms to a finding's evidence, from the allocation to the use. */
L.showFinding = (k) => {
  const ev = L.findings[k].evidence, a = ev[0].ts - D.meta.start, b = ev[ev.length - 1].ts - D.meta.start;
  const pad = Math.max(2e4, (b - a) * 0.05);
  view = { t0: a - pad, t1: b + pad }; clampView(); redraw();
};

(async () => {
  const [blob, summary] = await Promise.all([fetch(api('/api/timeline')).then((r) => r.arrayBuffer()), fetch(api('/api/summary')).then((r) => r.json())]);
  D = parse(blob);
  CW = cv.clientWidth;
  index();
  typeList();
  buildRows();
  L.showAll();
  showSummary(summary);
  for (const id of ['task', 'cpu']) $(id).addEventListener('input', () => { buildRows(); redraw(); });
  $('reset').addEventListener('click', () => L.showAll());
  $('typesbtn').addEventListener('click', () => { const t = $('types'); t.style.display = t.style.display === 'block' ? 'none' : 'block'; });
  L.ready = true;
})().catch((e) => { $('status').textContent = 'error: ' + e.message; L.error = String(e); });
`;

export function viewerPage(title: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head><body>
<header><b>lkst</b><span>${esc(title)}</span>
<label>events <input id="evfilter" placeholder="sched, irq, kmem"></label><button id="typesbtn">types…</button>
<label>task <input id="task" placeholder="comm or pid"></label>
<label>CPU <input id="cpu" placeholder="0,1" style="width:60px"></label>
<button id="reset">show all</button><span style="font-size:11px;color:#b0bec5">wheel: zoom · drag: pan · W/S/A/D · click: fields</span><span id="status">loading…</span></header>
<main><div id="tl"><canvas id="cv"></canvas><div id="types"></div></div>
<aside><div id="detail"><h3>Event</h3><small>click an event to see its fields</small></div><div id="summary"></div></aside></main>
<script>${SCRIPT}</script></body></html>`;
}
