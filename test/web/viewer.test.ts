// lkst view: the timeline data from a trace recorded on this kernel, the server's access rules,
// and the page in a real headless chromium: first paint, zoom, click an event, filter, screenshot.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTrace } from '../../src/analysis/open.js';
import { buildTimeline, type Timeline } from '../../src/web/timeline.js';
import { stateAt } from '../../src/analysis/state.js';
import { eventDetails, startViewer, type Viewer } from '../../src/web/server.js';
import { recordTrace, ANALYSIS_EVENTS, type RecordedTrace } from '../analysis/record-trace.js';
import { chromiumMissing, launchChromium } from './browser.js';

function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('lkst view', () => {
  let rec: RecordedTrace;
  let tl: Timeline;
  let viewer: Viewer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkst-view-'));
    const markerPath = join(dir, 'marker');
    const script = `M=$(cat ${markerPath}); echo "lkst: maskset default -> net" > $M; for i in 1 2 3; do ls /proc > /dev/null; sleep 0.02; done; echo "workload done" > $M`;
    rec = await recordTrace(['sh', '-c', script], ANALYSIS_EVENTS, {
      onInstance: (inst) => writeFileSync(markerPath, inst.path('trace_marker')),
    });
    const t = openTrace(rec.path);
    try {
      tl = buildTimeline(t);
    } finally {
      t.close();
    }
    viewer = await startViewer(tl, { title: 'test' });
  });
  after(async () => {
    await viewer?.close();
    rec?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the timeline holds every event, running slices, the markers and the maskset switch', () => {
    assert.equal(tl.ev.ts.length, tl.stats.events);
    assert.ok(tl.run.start.length > 0);
    for (let i = 0; i < tl.run.start.length; i++) assert.ok(tl.run.end[i]! >= tl.run.start[i]!);
    assert.deepEqual(tl.meta.markers.map((m) => m.text), ['lkst: maskset default -> net', 'workload done']);
    assert.deepEqual(tl.meta.masksetSwitches.map((m) => [m.from, m.to]), [['default', 'net']]);
    assert.equal(tl.stats.markers, 2);
    assert.deepEqual(tl.stats.masksetSwitches.map((m) => [m.from, m.to]), [['default', 'net']]);
    for (let i = 1; i < tl.ev.ts.length; i++) assert.ok(tl.ev.ts[i]! >= tl.ev.ts[i - 1]!, 'events in time order');
    // The state after the switch names the maskset in force; before it, none.
    const t = openTrace(rec.path);
    try {
      const sw = tl.meta.start + tl.meta.masksetSwitches[0]!.ts;
      assert.equal(stateAt(t, Infinity).maskset, 'net');
      assert.equal(stateAt(t, sw - 1).maskset, undefined);
    } finally {
      t.close();
    }
  });

  test('a window shows only its events, times counted from its start', () => {
    const t = openTrace(rec.path);
    try {
      const mid = tl.meta.start + tl.meta.end / 2;
      const half = buildTimeline(t, { from: mid });
      let expect = 0;
      for (let i = 0; i < tl.ev.ts.length; i++) if (tl.meta.start + tl.ev.ts[i]! >= mid) expect++;
      assert.equal(half.ev.ts.length, expect);
      assert.ok(half.meta.start >= mid);
      assert.equal(half.ev.ts[0], 0);
      for (let i = 0; i < half.run.start.length; i++) assert.ok(half.run.start[i]! >= 0 && half.run.end[i]! >= half.run.start[i]!);
    } finally {
      t.close();
    }
  });

  test('the server answers only on 127.0.0.1, with the token and the right Host', async () => {
    assert.match(viewer.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    assert.equal((await get(viewer.port, '/')).status, 403);
    assert.equal((await get(viewer.port, '/?token=wrong')).status, 403);
    assert.equal((await get(viewer.port, `/?token=${viewer.token}`, `evil.example:${viewer.port}`)).status, 403);
    assert.equal((await get(viewer.port, `/?token=${viewer.token}`)).status, 200);
    const ev = await get(viewer.port, `/api/event?i=0&token=${viewer.token}`);
    assert.equal(ev.status, 200);
    assert.equal(JSON.parse(ev.body.toString()).event, tl.meta.types[tl.ev.type[0]!]);
  });

  test('in chromium: first paint, zoom, click an event to see its fields, filter tasks, screenshot', { skip: chromiumMissing() }, async () => {
    const b = await launchChromium();
    try {
      const page = await b.ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(viewer.url);
      // On a timeout, say which step and what the page had done.
      const step = async (what: string, wait: () => Promise<unknown>) => {
        try {
          await wait();
        } catch (err) {
          const state = await page.evaluate(() => JSON.stringify({ ...(window as any).lkst, findings: undefined, detail: undefined })).catch((e) => String(e));
          throw new Error(`${what}: ${(err as Error).message.split('\n')[0]}; page state ${state}; page errors ${JSON.stringify(errors)}`);
        }
      };
      await step('first paint', () => page.waitForFunction(() => (window as any).lkst?.ready && (window as any).lkst.painted, null, { timeout: 60_000 }));
      const info = await page.evaluate(() => ({ rows: (window as any).lkst.rowsCount, frames: (window as any).lkst.frames }));
      assert.equal(info.rows, tl.meta.cpus.length + tl.meta.tasks.length);
      // Zoom into the sched_switch nearest the middle of the trace and click it.
      const sw = tl.meta.types.indexOf('sched:sched_switch');
      let target = -1;
      for (let i = 0; i < tl.ev.ts.length; i++) if (tl.ev.type[i] === sw && (target < 0 || Math.abs(tl.ev.ts[i]! - tl.meta.end / 2) < Math.abs(tl.ev.ts[target]! - tl.meta.end / 2))) target = i;
      assert.ok(target >= 0);
      const span0 = await page.evaluate(() => (window as any).lkst.view.t1 - (window as any).lkst.view.t0);
      const box = (await page.locator('#cv').boundingBox())!;
      const at = await page.evaluate((i) => (window as any).lkst.eventXY(i), target);
      await page.mouse.move(box.x + at.x, box.y + at.y);
      for (let k = 0; k < 6; k++) await page.mouse.wheel(0, -400);
      // Six wheel steps zoom by exp(-0.8 * 6) = 0.0082: wait for all of them, not just the first few.
      await step('zoom', () => page.waitForFunction((s) => (window as any).lkst.view.t1 - (window as any).lkst.view.t0 < s * 0.009, span0, { timeout: 20_000 }));
      const xy = await page.evaluate((i) => (window as any).lkst.eventXY(i), target);
      // Events drawn within 5 px of the click are candidates; the nearest is the one picked.
      await page.mouse.click(box.x + xy.x, box.y + xy.y);
      await step('click', () => page.waitForFunction(() => (window as any).lkst.detail, null, { timeout: 20_000 }));
      const detail = await page.evaluate(() => (window as any).lkst.detail);
      const expected = eventDetails(tl, detail.index)!;
      assert.equal(Math.abs(tl.ev.ts[detail.index]! - tl.ev.ts[target]!) < (await page.evaluate(() => ((window as any).lkst.view.t1 - (window as any).lkst.view.t0) / 100)), true, 'the clicked event is at the click');
      assert.deepEqual(detail.fields, JSON.parse(JSON.stringify(expected.fields)));
      assert.equal(await page.locator('#evtitle').textContent(), expected.event);
      // The findings and stats panel shows the analysis.
      assert.match((await page.locator('#summary').textContent())!, new RegExp(`events\\s*${tl.stats.events.toLocaleString('en-US')}`));
      const shot = join(dir, 'viewer.png');
      await page.screenshot({ path: shot });
      if (process.env.LKST_VIEWER_SCREENSHOT) copyFileSync(shot, process.env.LKST_VIEWER_SCREENSHOT);
      // Filtering tasks leaves the CPU rows and the matching tasks.
      await page.fill('#task', 'sleep');
      const rows = await page.evaluate(() => (window as any).lkst.rowsCount);
      assert.equal(rows, tl.meta.cpus.length + tl.meta.tasks.filter((t) => `${t.comm}:${t.pid}`.includes('sleep')).length);
      assert.deepEqual(errors, []);
    } finally {
      await b.close();
    }
  });
});
