/**
 * `lkst view` as a user meets it (issue 14), on one trace of ~5 M events: the command spawned on the
 * trace, chromium (already running) opening the URL it prints; measured are the time from the spawn
 * to window.lkst.painted, the server's peak RSS (VmHWM, its summary worker included), and zoom/pan
 * frames: the time from a zoom or pan to the frame drawn with the new window's data (the server's
 * answer included), and the draw alone. Each round clears the trace's cache, opens it (building the
 * summaries) and opens it again (reading them). Medians of LKST_BENCH_RUNS (3) rounds; frames: median of 40.
 *
 * Environment: LKST_BENCH_FILE (this trace.dat instead of recording), LKST_BENCH_VIEW_STORM (dd
 * 1-byte copies, default 1,250,000: ~5 M events, as bench/cache.ts, under sched, raw_syscalls, irq and hrtimer events), LKST_BENCH_JSON.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeTrace } from './make-trace.js';
import { CHROMIUM, launchChromium } from '../test/web/browser.js';
import { clearCache } from '../src/analysis/cache/location.js';
import { cliPath } from '../src/base/project-root.js';

const CLI = cliPath();
const EVENTS = ['sched:sched_switch', 'sched:sched_waking', 'sched:sched_wakeup', 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit', 'irq:irq_handler_entry', 'irq:irq_handler_exit', 'irq:softirq_entry', 'irq:softirq_exit', 'timer:hrtimer_start', 'timer:hrtimer_cancel', 'timer:hrtimer_expire_entry', 'timer:hrtimer_expire_exit'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Open {
  paintMs: number;
  /** When the command printed its URL (summaries built, serving). */
  urlMs: number;
  rssMiB: number;
  events: number;
  /** Zoom/pan: to the frame with the new data, and the draw alone. */
  frameMs: number;
  drawMs: number;
  frames: number;
}

type PageL = { lkst: { painted: boolean; window: { events: number }; frameMs: number[]; settled(): boolean; zoom(f: number): void; pan(f: number): void } };

async function openOnce(path: string, page: import('playwright-core').Page): Promise<Open> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'view', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`lkst view exited with ${code}: ${stderr.trim()}`)));
    });
    const urlMs = performance.now() - t0;
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as PageL).lkst?.painted, null, { timeout: 600_000, polling: 10 });
    const paintMs = performance.now() - t0;
    const events = await page.evaluate(() => (window as unknown as PageL).lkst.window.events);
    // Zoom in 20 steps towards the middle, then pan 20 steps: each until its data is drawn.
    const steps = await page.evaluate(async () => {
      const L = (window as unknown as PageL).lkst;
      const out: number[] = [];
      const settle = async () => {
        while (!L.settled()) await new Promise((r) => setTimeout(r, 1));
        await new Promise((r) => requestAnimationFrame(() => r(null)));
      };
      for (let i = 0; i < 40; i++) {
        const t = performance.now();
        if (i < 20) L.zoom(0.6);
        else L.pan(i % 2 ? 0.3 : -0.2);
        await settle();
        out.push(performance.now() - t);
      }
      return { out, draw: L.frameMs.slice(-40) };
    });
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    return { paintMs, urlMs, rssMiB: hwm, events, frameMs: median(steps.out), drawMs: median(steps.draw), frames: steps.out.length };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    process.stdout.write('viewer bench: skipped (chromium not installed)\n');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bench-viewer-'));
  try {
    // A copy of a given trace: its cache is made beside the copy, not beside the user's file.
    const path = join(dir, 'view.dat');
    if (process.env.LKST_BENCH_FILE) copyFileSync(process.env.LKST_BENCH_FILE, path);
    else await makeTrace(dir, Number(process.env.LKST_BENCH_VIEW_STORM ?? 1_250_000), EVENTS, 'view.dat');
    const runs = Number(process.env.LKST_BENCH_RUNS ?? 3);
    const b = await launchChromium(1600, 900);
    const built: Open[] = [];
    const cached: Open[] = [];
    try {
      const page = await b.ctx.newPage();
      // Each round: the cache cleared, an open that builds the summaries, then one that reads them.
      for (let i = 0; i < runs; i++) {
        clearCache(path);
        for (const list of [built, cached]) {
          await page.goto('about:blank');
          list.push(await openOnce(path, page));
          process.stderr.write(`run ${i + 1} ${list === built ? 'built' : 'cached'}: ${JSON.stringify(list[i])}\n`);
        }
      }
    } finally {
      await b.close();
    }
    const size = statSync(path).size / 2 ** 20;
    const line = (what: string, k: keyof Open, f: (v: number) => string) => `  ${what.padEnd(30)}${f(median(built.map((o) => o[k]))).padStart(12)}${f(median(cached.map((o) => o[k]))).padStart(12)}\n`;
    const s = (v: number) => `${(v / 1000).toFixed(2)} s`;
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    process.stdout.write(
      `lkst view, ${built[0]?.events.toLocaleString('en-US')} events (${size.toFixed(0)} MiB), ${runs} rounds, load average ${loadavg()[0]!.toFixed(1)}:\n` +
        `  ${''.padEnd(30)}${'built'.padStart(12)}${'cached'.padStart(12)}\n` +
        line('spawn -> URL printed', 'urlMs', s) +
        line('spawn -> painted (chromium)', 'paintMs', s) +
        line('server peak RSS', 'rssMiB', (v) => `${v.toFixed(0)} MiB`) +
        line(`zoom/pan to data drawn (${built[0]?.frames})`, 'frameMs', ms) +
        line('draw alone', 'drawMs', ms),
    );
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify({ sizeMiB: size, built, cached }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
