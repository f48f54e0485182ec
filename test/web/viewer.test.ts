// lkst view: the summaries built from traces recorded on this kernel against a plain walk of the
// same trace, the server's access rules, and the page in a real headless chromium (first paint,
// zoom, click, search, keys, URL state), also on a storm of millions of events.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { jsonValue } from '../../src/analysis/event.js';
import { buildViewData, type ViewData } from '../../src/web/view-data.js';
import { answerWindow, eventByRef, search } from '../../src/web/queries.js';
import { startViewer, type Viewer } from '../../src/web/server.js';
import { loadViewData, storeViewData } from '../../src/web/view-cache.js';
import { summaryInWorker } from '../../src/web/summary.js';
import { decodeBlock, type WindowMeta } from '../../src/web/schema.js';
import { recordTrace, ANALYSIS_EVENTS, type RecordedTrace } from '../analysis/record-trace.js';
import { chromiumMissing, launchChromium, paintedViewer } from './browser.js';

function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Events of the trace per (buffer index, CPU) in [t0, t1] (ns since the view's start), by a plain walk. */
function countIn(t: OpenedTrace, d: ViewData, t0: number, t1: number): Map<string, number> {
  const out = new Map<string, number>();
  const names = t.buffers.map((b) => b.name);
  forEachEvent(t, {
    event: (ev) => {
      const r = ev.ts - d.meta.start;
      if (r < t0 || r > t1) return;
      const k = `${names.indexOf(ev.buffer)}:${ev.cpu}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    },
  });
  return out;
}

type PageLkst = { lkst: Record<string, any> };

describe('lkst view', () => {
  let rec: RecordedTrace;
  let t: OpenedTrace;
  let d: ViewData;
  let viewer: Viewer;
  let dir: string;
  let summary: Promise<string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkst-view-'));
    const markerPath = join(dir, 'marker');
    const script = `M=$(cat ${markerPath}); echo "lkst: maskset default -> net" > $M; for i in 1 2 3; do ls /proc > /dev/null; sleep 0.02; done; echo "workload done" > $M`;
    rec = await recordTrace(['sh', '-c', script], ANALYSIS_EVENTS, {
      onInstance: (inst) => writeFileSync(markerPath, inst.path('trace_marker')),
    });
    t = openTrace(rec.path);
    summary = summaryInWorker(rec.path, []);
    d = buildViewData(t, 'test');
    viewer = await startViewer(d, { summary: () => summary });
  });
  after(async () => {
    await viewer?.close();
    t?.close();
    rec?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the summaries count every event once, with the markers, the maskset switch and the analyses', async () => {
    const s = JSON.parse(await summary) as { stats: { events: number; lostTotal: number } };
    assert.equal(d.meta.events, s.stats.events);
    assert.equal(d.meta.lostTotal, s.stats.lostTotal);
    assert.equal(d.meta.cpuTracks.reduce((n, c) => n + c.events, 0), d.meta.events);
    for (let i = 0; i < d.pyramids.length; i++) for (const l of d.pyramids[i]!.levels) assert.equal(l.reduce((a, b) => a + b, 0), d.meta.cpuTracks[i]!.events);
    assert.deepEqual(d.meta.markers.map((m) => m.text), ['lkst: maskset default -> net', 'workload done']);
    assert.deepEqual(d.meta.masksetSwitches.map((m) => [m.from, m.to]), [['default', 'net']]);
    assert.ok(d.running.length > 0);
    for (let i = 0; i < d.running.length; i++) assert.ok(d.running.end[i]! >= d.running.start[i]!);
    for (let i = 0; i < d.flows.run.length; i++) assert.ok(d.flows.run[i]! >= d.flows.wake[i]!, 'a task runs after its wakeup');
    assert.ok(d.meta.processes.some((p) => p.threads.some((th) => th.comm === 'ls')));
  });

  test('a window: summed buckets over the whole trace, the events themselves in a narrow one, equal to a plain walk', () => {
    const all = d.meta.cpuTracks.map((c) => c.id);
    const whole = answerWindow(d, { t0: -1, t1: d.meta.end + 1, px: 800, tracks: all });
    assert.ok(whole.meta.bucketNs > 0 || d.meta.events <= d.meta.rawLimit);
    if (whole.meta.bucketNs > 0) {
      for (const c of d.meta.cpuTracks) assert.equal((whole.cols[`${c.id}/density`] as Uint32Array).reduce((a, b) => a + b, 0), c.events);
    }
    // The middle tenth, as events: per track exactly what a walk finds there.
    const t0 = d.meta.end * 0.45;
    const t1 = d.meta.end * 0.55;
    const narrow = answerWindow(d, { t0, t1, px: 800, tracks: all });
    const walk = countIn(t, d, t0, t1);
    if (narrow.meta.bucketNs === 0) {
      for (const c of d.meta.cpuTracks) assert.equal(narrow.cols[`${c.id}/ev.ts`]?.length ?? 0, walk.get(`${c.buffer}:${c.cpu}`) ?? 0, c.id);
    }
    // The events of one record's time, found again by their ref, carry the fields a walk decodes.
    let first: { ts: number; cpu: number; fields: Record<string, unknown> } | undefined;
    forEachEvent(t, {
      event: (ev) => {
        if (ev.ts - d.meta.start < t0) return;
        const fields: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(ev.fields())) fields[k] = jsonValue(v);
        first = { ts: ev.ts, cpu: ev.cpu, fields };
        return false;
      },
    });
    const got = eventByRef(d, `0:${first!.cpu}:${first!.ts - d.meta.start}:0`)!;
    assert.equal(got.ts, first!.ts);
    assert.deepEqual(got.fields, first!.fields);
  });

  test('the summaries kept in a cache file answer windows as the pass did', () => {
    const file = join(dir, 'view.bin');
    storeViewData(file, d);
    const back = loadViewData(file, t, 'again')!;
    assert.equal(back.meta.title, 'again');
    assert.deepEqual({ ...back.meta, title: d.meta.title }, d.meta);
    const tracks = [...d.meta.cpuTracks.map((c) => c.id), ...d.meta.processes.flatMap((p) => p.threads.map((th) => `thread:${th.pid}`))];
    for (const [t0, t1] of [[-1, d.meta.end + 1], [d.meta.end * 0.4, d.meta.end * 0.6], [d.meta.end * 0.5, d.meta.end * 0.5 + 1e5]] as const) {
      const a = answerWindow(d, { t0, t1, px: 700, tracks });
      const b = answerWindow(back, { t0, t1, px: 700, tracks });
      assert.deepEqual(b.meta, a.meta);
      assert.deepEqual(Object.keys(b.cols), Object.keys(a.cols));
      for (const k of Object.keys(a.cols)) assert.deepEqual([...b.cols[k]!], [...a.cols[k]!], k);
    }
  });

  test('search finds the next and previous matching event, fields included', () => {
    const mid = d.meta.end / 2;
    let next: number | undefined;
    let prev: number | undefined;
    forEachEvent(t, {
      event: (ev) => {
        if (ev.fmt?.name !== 'sched_switch') return;
        const r = ev.ts - d.meta.start;
        if (r < mid) prev = r;
        else if (r > mid && next === undefined) next = r;
      },
    });
    assert.equal(search(d, 'sched_switch', mid, 1)?.rel, next);
    assert.equal(search(d, 'sched_switch', mid, -1)?.rel, prev);
    const hit = search(d, 'sched_switch', -1, 1)!;
    const comm = String(hit.fields.next_comm);
    assert.equal(search(d, `sched_switch next_comm=${comm}`, -1, 1)?.fields.next_comm, comm);
    assert.equal(search(d, 'sched_switch next_comm=no-such-task-here', -1, 1), undefined);
  });

  test('a --from window shows only its events, times counted from its start', () => {
    const mid = d.meta.start + d.meta.end / 2;
    const half = buildViewData(t, 'half', { from: mid });
    let expect = 0;
    forEachEvent(t, { event: (ev) => void (ev.ts >= mid && expect++) });
    assert.equal(half.meta.events, expect);
    assert.ok(half.meta.start >= mid);
    for (let i = 0; i < half.running.length; i++) assert.ok(half.running.start[i]! >= 0);
  });

  test('the server answers only on 127.0.0.1, with the token and the right Host, under a CSP without inline script', async () => {
    assert.match(viewer.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    assert.equal((await get(viewer.port, '/')).status, 403);
    assert.equal((await get(viewer.port, '/?token=wrong')).status, 403);
    assert.equal((await get(viewer.port, `/?token=${viewer.token}`, `evil.example:${viewer.port}`)).status, 403);
    const page = await get(viewer.port, `/?token=${viewer.token}`);
    assert.equal(page.status, 200);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.doesNotMatch(page.body.toString(), /<script>/, 'no inline script');
    assert.equal((await get(viewer.port, `/s/${viewer.token}/client/main.js`)).status, 200);
    assert.equal((await get(viewer.port, '/s/wrong/client/main.js')).status, 403);
    // A path climbing out of the client's folder leaves the token behind, and nothing but the client's files is served.
    assert.equal((await get(viewer.port, `/s/${viewer.token}/client/../../cli/main.js`)).status, 403);
    assert.equal((await get(viewer.port, `/s/${viewer.token}/view-data.js`)).status, 404);
    const w = await get(viewer.port, `/api/window?t0=0&t1=${d.meta.end}&px=500&tracks=${d.meta.cpuTracks[0]!.id}&token=${viewer.token}`);
    assert.equal(w.status, 200);
    const block = decodeBlock<WindowMeta>(new Uint8Array(w.body).buffer);
    assert.equal(block.meta.px, 500);
  });

  test('in chromium: first paint, zoom, click an event, search, keys, the view in the URL, screenshot', { skip: chromiumMissing() }, async () => {
    const b = await launchChromium();
    try {
      const page = await b.ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(viewer.url);
      const step = async (what: string, wait: () => Promise<unknown>) => {
        try {
          await wait();
        } catch (err) {
          const state = await page.evaluate(() => JSON.stringify({ ...(window as unknown as PageLkst).lkst, findings: undefined, detail: undefined, frameMs: undefined })).catch((e) => String(e));
          throw new Error(`${what}: ${(err as Error).message.split('\n')[0]}; page state ${state}; page errors ${JSON.stringify(errors)}`);
        }
      };
      const settled = (what: string) => step(what, () => page.waitForFunction(() => (window as unknown as PageLkst).lkst.settled(), null, { timeout: 30_000 }));
      await step('first paint', () => page.waitForFunction(() => (window as unknown as PageLkst).lkst?.ready && (window as unknown as PageLkst).lkst.painted, null, { timeout: 60_000 }));
      const threads = d.meta.processes.reduce((n, p) => n + p.threads.length, 0);
      const headers = d.meta.processes.filter((p) => p.threads.length > 1 || p.known).length;
      assert.equal(await page.evaluate(() => (window as unknown as PageLkst).lkst.rowsCount), 2 + d.meta.cpuTracks.length + headers + threads);
      // Zoom with the wheel onto the first sched_switch after the middle of CPU 0's row, then click it.
      const target = search(d, 'sched_switch', d.meta.end / 2, 1)!;
      const track = d.meta.cpuTracks.find((c) => c.cpu === target.cpu)!.id;
      const box = (await page.locator('#cv').boundingBox())!;
      const span0 = await page.evaluate(() => (window as unknown as PageLkst).lkst.view.t1 - (window as unknown as PageLkst).lkst.view.t0);
      let at = await page.evaluate(([id, r]) => (window as unknown as PageLkst).lkst.trackXY(id, r), [track, target.rel] as const);
      await page.mouse.move(box.x + at.x, box.y + at.y);
      for (let k = 0; k < 8; k++) await page.mouse.wheel(0, -400);
      await step('zoom', () => page.waitForFunction((s) => (window as unknown as PageLkst).lkst.view.t1 - (window as unknown as PageLkst).lkst.view.t0 < s * 0.01, span0, { timeout: 20_000 }));
      await settled('zoomed window');
      at = await page.evaluate(([id, r]) => (window as unknown as PageLkst).lkst.trackXY(id, r), [track, target.rel] as const);
      await page.mouse.click(box.x + at.x, box.y + at.y);
      await step('click', () => page.waitForFunction(() => (window as unknown as PageLkst).lkst.detail, null, { timeout: 20_000 }));
      const detail = await page.evaluate(() => (window as unknown as PageLkst).lkst.detail);
      const again = eventByRef(d, detail.ref)!;
      assert.deepEqual(detail.fields, again.fields);
      const perPx = await page.evaluate(() => ((window as unknown as PageLkst).lkst.view.t1 - (window as unknown as PageLkst).lkst.view.t0) / 1000);
      assert.ok(Math.abs(detail.rel - target.rel) <= 6 * perPx, 'the clicked event is at the click');
      assert.equal(await page.locator('#evtitle').textContent(), detail.event);
      // Search: the next sched_switch after the selected event, from the box with Enter.
      await page.fill('#q', 'sched_switch');
      await page.press('#q', 'Enter');
      const expectNext = search(d, 'sched_switch', detail.rel, 1);
      await step('search', () => page.waitForFunction((r) => (window as unknown as PageLkst).lkst.detail?.rel === r, expectNext?.rel, { timeout: 20_000 }));
      // Keys: w zooms in, s out, a and d pan; the URL fragment follows the view.
      await page.locator('#cv').click({ position: { x: 5, y: 5 } });
      const v0 = await page.evaluate(() => ({ ...(window as unknown as PageLkst).lkst.view }));
      await page.keyboard.press('w');
      const v1 = await page.evaluate(() => ({ ...(window as unknown as PageLkst).lkst.view }));
      assert.ok(v1.t1 - v1.t0 < v0.t1 - v0.t0);
      await page.keyboard.press('d');
      const v2 = await page.evaluate(() => ({ ...(window as unknown as PageLkst).lkst.view }));
      assert.ok(v2.t0 > v1.t0);
      await step('url state', () => page.waitForFunction((t0) => location.hash.includes(`t0=${Math.round(t0)}`), v2.t0, { timeout: 5_000 }));
      const url = page.url();
      await page.goto('about:blank');
      await page.goto(url);
      await step('reload', () => page.waitForFunction(() => (window as unknown as PageLkst).lkst?.painted, null, { timeout: 60_000 }));
      const v3 = await page.evaluate(() => ({ ...(window as unknown as PageLkst).lkst.view }));
      assert.ok(Math.abs(v3.t0 - v2.t0) < 2 && Math.abs(v3.t1 - v2.t1) < 2, 'the view comes back from the URL');
      await step('selection from the URL', () => page.waitForFunction(() => (window as unknown as PageLkst).lkst.detail, null, { timeout: 20_000 }));
      // The side panel: counts from the analyses.
      await step('summary', () => page.waitForFunction(() => /events/.test(document.getElementById('summary')?.textContent ?? ''), null, { timeout: 60_000 }));
      assert.match((await page.locator('#summary').textContent())!, new RegExp(`events\\s*${d.meta.events.toLocaleString('en-US')}`));
      await page.keyboard.press('0');
      await settled('whole trace');
      const shot = join(dir, 'viewer.png');
      await page.screenshot({ path: shot });
      if (process.env.LKST_VIEWER_SCREENSHOT) copyFileSync(shot, process.env.LKST_VIEWER_SCREENSHOT);
      // Filtering tasks leaves the CPU rows and the matching threads (with their process header).
      await page.fill('#task', 'ls');
      const rows = await page.evaluate(() => (window as unknown as PageLkst).lkst.rowsCount);
      assert.ok(rows > 2 + d.meta.cpuTracks.length && rows < 2 + d.meta.cpuTracks.length + headers + threads);
      assert.deepEqual(errors, []);
    } finally {
      await b.close();
    }
  });
});

/** A storm of a few million events (LKST_VIEW_STORM 1-byte dd copies; ~4 events each). */
describe('lkst view on a storm recorded on this kernel', { skip: chromiumMissing() }, () => {
  let rec: RecordedTrace;
  let t: OpenedTrace;
  let viewer: Viewer;
  let d: ViewData;
  const storm = Number(process.env.LKST_VIEW_STORM ?? 1_250_000);

  before(async () => {
    rec = await recordTrace(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${storm}`, 'status=none'], ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit', 'sched:sched_switch', 'sched:sched_waking', 'sched:sched_wakeup'], { bufferKb: 65536 });
    t = openTrace(rec.path);
    d = buildViewData(t, 'storm');
    viewer = await startViewer(d, { summary: () => summaryInWorker(rec.path, []) });
  });
  after(async () => {
    await viewer?.close();
    t?.close();
    rec?.cleanup();
  });

  test('the page paints, the whole trace comes as buckets counting every event, a narrow window as events', async () => {
    assert.ok(d.meta.events > storm * 2, `${d.meta.events} events`);
    assert.equal(d.meta.cpuTracks.reduce((n, c) => n + c.events, 0), d.meta.events);
    const b = await launchChromium();
    try {
      const { page, errors } = await paintedViewer(b.ctx, viewer.url, 120_000);
      const whole = await page.evaluate(() => (window as unknown as PageLkst).lkst.window as WindowMeta);
      assert.ok(whole.bucketNs > 0, 'summaries, not events');
      assert.equal(whole.events, d.meta.events);
      // Zoom in until the window is answered with events.
      for (let i = 0; i < 40; i++) {
        const w = await page.evaluate(async () => {
          const L = (window as unknown as PageLkst).lkst;
          L.zoom(0.25);
          while (!L.settled()) await new Promise((r) => setTimeout(r, 20));
          return L.window as WindowMeta;
        });
        if (w.bucketNs === 0) break;
      }
      const w = await page.evaluate(() => (window as unknown as PageLkst).lkst.window as WindowMeta);
      assert.equal(w.bucketNs, 0);
      assert.ok(w.events <= d.meta.rawLimit);
      assert.deepEqual(errors, []);
    } finally {
      await b.close();
    }
  });
});
