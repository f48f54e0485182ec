/**
 * `lkst report` vs `trace-cmd report` on the same trace.dat of at least a million events, written
 * by trace-cmd itself from a syscall storm: events per second of each, printing to /dev/null, as
 * medians over interleaved runs and the ratio; also lkst's decode rate without printing (records
 * into typed values).
 *
 * Environment: LKST_BENCH_RUNS (default 5), LKST_BENCH_STORM (dd 1-byte copies, default 150000),
 * LKST_BENCH_BUFFER_KB (per CPU, default 131072), LKST_BENCH_FILE (use this trace.dat instead),
 * LKST_BENCH_JSON (write the figures there).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFile, runReport } from '../src/analysis/report/index.js';
import { Instance } from '../src/tracefs/instance.js';
import { median } from '../src/bench/stats.js';

const EVENTS: [string, string][] = [
  ['raw_syscalls', '*'], ['syscalls', 'sys_enter_read'], ['syscalls', 'sys_exit_read'], ['syscalls', 'sys_enter_write'],
  ['syscalls', 'sys_exit_write'], ['sched', '*'], ['kmem', '*'], ['timer', '*'], ['irq', '*'],
];

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

/** CPU seconds (user + system) of this process's waited-for children so far, from /proc/self/stat. */
function childCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 (cutime, cstime) are the 14th and 15th after the command name, in clock ticks.
  return (Number(f[13]) + Number(f[14])) / 100;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Runs a command with stdout to /dev/null: wall-clock and CPU seconds. */
function timed(cmd: string, args: string[]): Timing {
  const devnull = openSync('/dev/null', 'w');
  try {
    const c0 = childCpu();
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', devnull, 'inherit'] });
    const wall = seconds(t);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
    return { wall, cpu: childCpu() - c0 };
  } finally {
    closeSync(devnull);
  }
}

const timeTraceCmd = (path: string): Timing => timed('trace-cmd', ['report', path]);
const timeLkst = (path: string): Timing => timed(process.execPath, [fileURLToPath(import.meta.url), '--child', path]);

async function child(path: string): Promise<void> {
  const fd = openSync('/dev/null', 'w');
  try {
    await runReport(path, { out: fd });
  } finally {
    closeSync(fd);
  }
}

interface FileResult {
  file: string;
  events: number;
  traceCmd: { wallSec: number; cpuSec: number; eventsPerSec: number; eventsPerCpuSec: number };
  lkst: { wallSec: number; cpuSec: number; eventsPerSec: number; eventsPerCpuSec: number };
  lkstDecode: { cpuSec: number; eventsPerCpuSec: number };
  ratioWall: number;
  ratioCpu: number;
}

function benchFile(label: string, path: string, runs: number): FileResult {
  const events = decodeFile(path);
  process.stderr.write(`report bench (${label}): ${events} events in ${path}\n`);
  const tc: Timing[] = [];
  const lk: Timing[] = [];
  const dec: number[] = [];
  for (let i = 0; i < runs; i++) {
    tc.push(timeTraceCmd(path));
    lk.push(timeLkst(path));
    const c = process.cpuUsage();
    decodeFile(path);
    const d = process.cpuUsage(c);
    dec.push((d.user + d.system) / 1e6);
    process.stderr.write(`  run ${i + 1}/${runs}: trace-cmd ${tc[i]!.wall.toFixed(2)} s (cpu ${tc[i]!.cpu.toFixed(2)}), lkst ${lk[i]!.wall.toFixed(2)} s (cpu ${lk[i]!.cpu.toFixed(2)}), decode cpu ${dec[i]!.toFixed(2)} s\n`);
  }
  const side = (ts: Timing[]) => {
    const wallSec = median(ts.map((t) => t.wall));
    const cpuSec = median(ts.map((t) => t.cpu));
    return { wallSec, cpuSec, eventsPerSec: events / wallSec, eventsPerCpuSec: events / cpuSec };
  };
  const traceCmd = side(tc);
  const lkst = side(lk);
  const decCpu = median(dec);
  return {
    file: label,
    events,
    traceCmd,
    lkst,
    lkstDecode: { cpuSec: decCpu, eventsPerCpuSec: events / decCpu },
    ratioWall: lkst.eventsPerSec / traceCmd.eventsPerSec,
    ratioCpu: lkst.eventsPerCpuSec / traceCmd.eventsPerCpuSec,
  };
}

function render(r: FileResult, runs: number): string {
  const M = (x: number): string => (x / 1e6).toFixed(2).padStart(6) + ' M/s';
  return [
    `report, ${r.file}: ${r.events} events, median of ${runs} interleaved runs, output to /dev/null`,
    `                     wall       events/s      cpu        events/cpu-s`,
    `  trace-cmd report   ${r.traceCmd.wallSec.toFixed(2).padStart(6)} s  ${M(r.traceCmd.eventsPerSec)}  ${r.traceCmd.cpuSec.toFixed(2).padStart(6)} s  ${M(r.traceCmd.eventsPerCpuSec)}`,
    `  lkst report        ${r.lkst.wallSec.toFixed(2).padStart(6)} s  ${M(r.lkst.eventsPerSec)}  ${r.lkst.cpuSec.toFixed(2).padStart(6)} s  ${M(r.lkst.eventsPerCpuSec)}   (node start-up included)`,
    `  lkst decode only                             ${r.lkstDecode.cpuSec.toFixed(2).padStart(6)} s  ${M(r.lkstDecode.eventsPerCpuSec)}   (typed records, no text)`,
    `  ratio lkst / trace-cmd: ${r.ratioWall.toFixed(2)}x by wall clock, ${r.ratioCpu.toFixed(2)}x by CPU time   (goal >= 2x)`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const runs = Number(process.env.LKST_BENCH_RUNS ?? 5);
  const dir = mkdtempSync(join(process.env.LKST_BENCH_TMP || tmpdir(), 'lkst-bench-report-'));
  try {
    const path = process.env.LKST_BENCH_FILE || makeTrace(dir, Number(process.env.LKST_BENCH_STORM ?? 150_000), Number(process.env.LKST_BENCH_BUFFER_KB ?? 131072));
    // The file as trace-cmd wrote it (v7, compressed by default) and without compression.
    const plain = join(dir, 'plain.dat');
    const conv = spawnSync('trace-cmd', ['convert', '-i', path, '--compression', 'none', '-o', plain], { stdio: 'ignore' });
    const results = [benchFile('as trace-cmd wrote it', path, runs)];
    if (conv.status === 0) results.push(benchFile('uncompressed', plain, runs));
    for (const r of results) process.stdout.write(render(r, runs));
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify(results, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else await main();
