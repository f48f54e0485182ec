/** The viewer's pure parts: the block schema, the count pyramid, interval thinning, drawing helpers, the URL state. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeBlock, encodeBlock, levelFor } from '../../src/web/schema.js';
import { CountPyramid } from '../../src/web/pyramid.js';
import { IntervalColumns } from '../../src/web/slices.js';
import { Viewport, densityHeight, fitText, fmtTime, layoutLabels, nearest, niceStep } from '../../src/web/client/draw.js';
import { decodeState, encodeState } from '../../src/web/client/url-state.js';

describe('viewer schema', () => {
  test('a block keeps its meta and every column kind, aligned', () => {
    const cols = { a: new Float64Array([1.5, -2]), b: new Int32Array([7]), c: new Uint32Array([1, 2, 3]), d: new Float32Array([0.5]) };
    const bytes = encodeBlock({ x: 1 }, cols);
    const copy = new Uint8Array(bytes).buffer;
    const back = decodeBlock<{ x: number }>(copy);
    assert.deepEqual(back.meta, { x: 1 });
    for (const [k, v] of Object.entries(cols)) {
      assert.equal(back.cols[k]!.constructor, v.constructor);
      assert.deepEqual([...back.cols[k]!], [...v]);
    }
  });

  test('levelFor picks the widest bucket not wider than a pixel', () => {
    assert.equal(levelFor(1000, 1000, 1, 20), 0);
    assert.equal(levelFor(4000, 1000, 1, 20), 2);
    assert.equal(levelFor(4100, 1000, 1, 20), 2);
    assert.equal(levelFor(1e12, 1000, 1, 5), 4);
    assert.equal(levelFor(10, 1000, 64, 5), 0);
  });
});

describe('count pyramid', () => {
  test('levels add up, totals and samples count every event once', () => {
    const p = new CountPyramid(10, 16);
    const times = [0, 5, 12, 31, 99, 100, 155, 159];
    for (const t of times) p.add(t);
    p.finish();
    assert.equal(p.levels.length, 5);
    for (const l of p.levels) assert.equal(l.reduce((a, b) => a + b, 0), times.length);
    assert.equal(p.total(0, 159), times.length);
    assert.equal(p.total(100, 109), 1);
    assert.equal(p.total(90, 109), 2);
    const px = p.sample(0, 160, 4, 2);
    assert.equal(px.reduce((a, b) => a + b, 0), times.length);
    assert.deepEqual([...px], [4, 0, 2, 2]);
  });

  test('coarsen doubles the bucket width and keeps the counts', () => {
    const p = new CountPyramid(10, 5);
    for (const t of [0, 15, 25, 41]) p.add(t);
    p.coarsen();
    assert.equal(p.baseNs, 20);
    assert.deepEqual([...p.levels[0]!], [2, 1, 1, 0, 0]);
  });
});

describe('interval thinning', () => {
  test('a window keeps wide intervals and one per pixel of narrow ones', () => {
    const c = new IntervalColumns();
    // Track 0: a wide interval, then 100 one-ns intervals in [200, 300).
    c.push(0, 150, 0, 1);
    for (let i = 0; i < 100; i++) c.push(200 + i, 200.5 + i, 0, 2 + i);
    c.push(0, 1000, 1, 500);
    const iv = c.seal(true);
    const got = iv.windowColumns(iv.byKey.get(0), 0, 1000, 100);
    assert.deepEqual([...got.start.subarray(0, 1)], [0]);
    assert.equal(got.start.length, 1 + 10, 'ten pixels of 10 ns hold the narrow ones');
    const all = iv.windowColumns(iv.byKey.get(0), 0, 1000, 100000);
    assert.equal(all.start.length, 101);
    const clipped = iv.windowColumns(iv.byKey.get(1), 100, 200, 10);
    assert.deepEqual([clipped.start[0], clipped.end[0], clipped.value[0]], [100, 200, 500]);
    assert.deepEqual([...iv.byValue!.get(500)!], [101]);
  });
});

describe('drawing helpers', () => {
  test('viewport maps time to pixels and back, zooms about a pixel, clamps to the trace', () => {
    const v = new Viewport(0, 1000, 100, 500);
    assert.equal(v.x(500), 350);
    assert.equal(v.t(350), 500);
    v.zoom(0.5, 350);
    assert.deepEqual([v.t0, v.t1], [250, 750]);
    v.pan(0.1);
    assert.deepEqual([v.t0, v.t1], [300, 800]);
    v.t0 = -1e9;
    v.t1 = 1e9;
    v.clamp(1000);
    assert.deepEqual([v.t0, v.t1], [-20, 1020]);
    v.t0 = 990;
    v.t1 = 991;
    v.clamp(1000, 100);
    assert.deepEqual([v.t0, v.t1], [920, 1020]);
  });

  test('axis steps, times, labels, text fit, density, nearest', () => {
    assert.equal(niceStep(1e9, 900), 1e8);
    assert.equal(niceStep(1.5e9, 900), 2e8);
    assert.equal(fmtTime(999), '999 ns');
    assert.equal(fmtTime(1500), '1.50 us');
    assert.equal(fmtTime(2.5e6), '2.500 ms');
    assert.equal(fmtTime(3e9), '3.0000 s');
    assert.deepEqual(layoutLabels([0, 10, 20, 200], [50, 50, 50, 50], 2), [0, 1, -1, 0]);
    assert.equal(fitText('kworker/0:1', 1000), 'kworker/0:1');
    assert.equal(fitText('kworker/0:1', 26), 'kwo…');
    assert.equal(fitText('kworker/0:1', 6), '');
    assert.equal(densityHeight(0, 10, 5), 0);
    assert.equal(densityHeight(10, 10, 5), 5);
    assert.ok(densityHeight(1, 1e6, 5) >= 1);
    assert.equal(nearest([10, 20, 30], 24, 5), 1);
    assert.equal(nearest([10, 20, 30], 26, 5), 2);
    assert.equal(nearest([10, 20, 30], 50, 5), -1);
  });

  test('the view state survives the URL fragment', () => {
    const s = { t0: 12, t1: 3456, sel: '0:1:2500:0', q: 'sched_switch next_comm=dd', task: 'dd', cpu: '0,1' };
    assert.deepEqual(decodeState(`#${encodeState(s)}`), s);
    assert.deepEqual(decodeState('#t0=5&t1=2'), {});
  });
});
