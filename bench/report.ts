/**
 * `lkst report` vs `trace-cmd report` on the same trace.dat of at least a million events, written
 * by trace-cmd itself from a syscall storm: events per second of each, printing to /dev/null, as
 * medians over interleaved runs and the ratio; also lkst's decode rate without printing (records
 * into typed values).
 *
 * Environment: LKST_BENCH_RUNS (default 5), LKST_BENCH_STORM (dd 1-byte copies, default 300000),
 * LKST_BENCH_BUFFER_KB (per CPU, default 131072), LKST_BENCH_FILE (use this trace.dat instead),
 * LKST_BENCH_JSON (write the figures there).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFile, runReport } from '../src/analysis/report/index.js';
import { Instance } from '../src/tracefs/instance.js';

const EVENTS: [string, string][] = [
  ['raw_syscalls', '*'], ['syscalls', 'sys_enter_read'], ['syscalls', 'sys_exit_read'], ['syscalls', 'sys_enter_write'],
  ['syscalls', 'sys_exit_write'], ['sched', '*'], ['kmem', '*'], ['timer', '*'], ['irq', '*'],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A trace.dat of a syscall storm, recorded in a private instance and written by trace-cmd extract. */
function makeTrace(dir: string, storm: number, bufferKb: number): string {
  const inst = Instance.create(`lkst-bench-report-${process.pid}`);
  const path = join(dir, 'storm.dat');
  try {
    inst.bufferSizeKb = bufferKb;
    for (const [system, event] of EVENTS) {
      const names = event === '*' ? inst.list(`events/${system}`).filter((e) => inst.has(`events/${system}/${e}/enable`)) : [event];
      for (const e of names) if (inst.hasEvent(system, e)) inst.setEventEnabled(system, e, true);
    }
    inst.tracingOn = true;
    spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${storm}`], { stdio: 'ignore' });
    inst.tracingOn = false;
    const r = spawnSync('trace-cmd', ['extract', '-B', inst.name, '-o', path], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`trace-cmd extract failed: ${r.stderr}`);
  } finally {
    inst.remove();
  }
  return path;
}

function timeTraceCmd(path: string): number {
  const devnull = openSync('/dev/null', 'w');
  try {
    const t = process.hrtime.bigint();
    const r = spawnSync('trace-cmd', ['report', path], { stdio: ['ignore', devnull, 'ignore'] });
    if (r.status !== 0) throw new Error('trace-cmd report failed');
    return seconds(t);
  } finally {
    closeSync(devnull);
  }
}

function timeLkst(path: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', path], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('lkst report (child) failed');
  return seconds(t);
}

async function child(path: string): Promise<void> {
  const fd = openSync('/dev/null', 'w');
  try {
    await runReport(path, { out: fd });
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const runs = Number(process.env.LKST_BENCH_RUNS ?? 5);
  const dir = mkdtempSync(join(process.env.LKST_BENCH_TMP || tmpdir(), 'lkst-bench-report-'));
  try {
    const path = process.env.LKST_BENCH_FILE || makeTrace(dir, Number(process.env.LKST_BENCH_STORM ?? 300_000), Number(process.env.LKST_BENCH_BUFFER_KB ?? 131072));
    const events = decodeFile(path);
    process.stderr.write(`report bench: ${events} events in ${path}\n`);
    const tc: number[] = [];
    const lk: number[] = [];
    const dec: number[] = [];
    for (let i = 0; i < runs; i++) {
      tc.push(timeTraceCmd(path));
      lk.push(timeLkst(path));
      const t = process.hrtime.bigint();
      decodeFile(path);
      dec.push(seconds(t));
      process.stderr.write(`  run ${i + 1}/${runs}: trace-cmd ${tc[i]!.toFixed(3)} s, lkst ${lk[i]!.toFixed(3)} s, decode ${dec[i]!.toFixed(3)} s\n`);
    }
    const rate = (s: number): number => events / s;
    const result = {
      events,
      runs,
      traceCmdReportSec: median(tc),
      lkstReportSec: median(lk),
      lkstDecodeSec: median(dec),
      traceCmdEventsPerSec: rate(median(tc)),
      lkstEventsPerSec: rate(median(lk)),
      lkstDecodeEventsPerSec: rate(median(dec)),
      speedup: median(tc) / median(lk),
    };
    const M = (x: number): string => (x / 1e6).toFixed(2) + ' M/s';
    process.stdout.write(
      [
        `report: ${events} events, median of ${runs} runs, output to /dev/null`,
        `  trace-cmd report   ${result.traceCmdReportSec.toFixed(3)} s   ${M(result.traceCmdEventsPerSec)}`,
        `  lkst report        ${result.lkstReportSec.toFixed(3)} s   ${M(result.lkstEventsPerSec)}   (process start included)`,
        `  lkst decode only   ${result.lkstDecodeSec.toFixed(3)} s   ${M(result.lkstDecodeEventsPerSec)}   (typed records, no text)`,
        `  ratio lkst/trace-cmd (events/s): ${result.speedup.toFixed(2)}x   (goal >= 2x)`,
        '',
      ].join('\n'),
    );
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify(result, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else await main();
