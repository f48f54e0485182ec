/**
 * `lkst report` vs `trace-cmd report` on the same trace.dat of at least a million events, written
 * by trace-cmd itself from a syscall storm (and the same converted to uncompressed): wall clock of
 * each printing to /dev/null and into a pipe, medians over interleaved runs, the ratio to trace-cmd
 * and the load average; lkst with its defaults (a worker thread on a big trace), with its main thread
 * only (LKST_REPORT_THREADS=0), with a worker thread rendering time ranges (LKST_REPORT_THREADS=1),
 * and with a thread decompressing zstd runs ahead (LKST_PREFETCH=1).
 * Also lkst's decode rate without printing (records into typed values).
 *
 * Environment: LKST_BENCH_RUNS (default 5), LKST_BENCH_STORM (dd 1-byte copies, default 620000: about
 * 5 M events, the "6-second default recording"; 150000 gives 1.2 M), LKST_BENCH_BUFFER_KB (per
 * CPU, default 262144: the storm's CPU keeps all of it), LKST_BENCH_FILE (use this trace.dat instead),
 * LKST_BENCH_WAYS (which lkst ways, e.g. "1,2"; trace-cmd always), LKST_BENCH_JSON (write the figures there).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFile } from '../src/analysis/report/index.js';
import { Instance } from '../src/tracefs/instance.js';
import { median } from '../src/bench/stats.js';
import { cliPath } from '../src/base/project-root.js';

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

type Out = 'null' | 'pipe';

/**
 * Runs a command with stdout to /dev/null or into a pipe that cat empties (to /dev/null): wall-clock
 * and CPU seconds of the whole tree.
 */
function timed(cmd: string, args: string[], out: Out, env: NodeJS.ProcessEnv = process.env): Timing {
  const devnull = openSync('/dev/null', 'w');
  try {
    const c0 = childCpu();
    const t = process.hrtime.bigint();
    const r =
      out === 'null'
        ? spawnSync(cmd, args, { stdio: ['ignore', devnull, 'ignore'], env })
        : spawnSync('sh', ['-c', '"$0" "$@" | cat', cmd, ...args], { stdio: ['ignore', devnull, 'ignore'], env });
    const wall = seconds(t);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
    return { wall, cpu: childCpu() - c0 };
  } finally {
    closeSync(devnull);
  }
}

const CLI = cliPath();

/**
 * The ways report runs: trace-cmd; lkst as it runs by default (a worker thread on a big trace,
 * parallel.ts), with its main thread only, with one rendering worker thread, and with a thread
 * decompressing zstd runs ahead.
 */
const WAYS: { name: string; run: (path: string, out: Out) => Timing }[] = [
  { name: 'trace-cmd report', run: (path, out) => timed('trace-cmd', ['report', path], out) },
  { name: 'lkst report', run: (path, out) => timed(process.execPath, [CLI, 'report', path], out) },
  { name: 'lkst, this thread only', run: (path, out) => timed(process.execPath, [CLI, 'report', path], out, { ...process.env, LKST_REPORT_THREADS: '0' }) },
  { name: 'lkst, one worker', run: (path, out) => timed(process.execPath, [CLI, 'report', path], out, { ...process.env, LKST_REPORT_THREADS: '1' }) },
  { name: 'lkst, decompressing thread', run: (path, out) => timed(process.execPath, [CLI, 'report', path], out, { ...process.env, LKST_REPORT_THREADS: '0', LKST_PREFETCH: '1' }) },
];

interface WayResult {
  way: string;
  out: Out;
  wallSec: number;
  wallMin: number;
  wallMax: number;
  cpuSec: number;
  eventsPerSec: number;
  /** trace-cmd's median wall time over this one's. */
  vsTraceCmd: number;
}

interface FileResult {
  file: string;
  events: number;
  runs: number;
  /** 1-minute load average before and after the runs. */
  load: [number, number];
  ways: WayResult[];
  decode: { wallSec: number; cpuSec: number; eventsPerSec: number; eventsPerCpuSec: number };
}

function benchFile(label: string, path: string, runs: number, ways: typeof WAYS): FileResult {
  const events = decodeFile(path);
  process.stderr.write(`report bench (${label}): ${events} events in ${path}\n`);
  const load0 = loadavg()[0]!;
  const outs: Out[] = ['null', 'pipe'];
  const times = new Map<string, Timing[]>();
  const dec: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const line: string[] = [];
    // Interleaved: each way once per round, so the machine's load falls on all alike.
    for (const out of outs) {
      for (const way of ways) {
        const t = way.run(path, out);
        const key = `${way.name}|${out}`;
        times.set(key, [...(times.get(key) ?? []), t]);
        line.push(`${way.name} >${out} ${t.wall.toFixed(2)} s`);
      }
    }
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    decodeFile(path);
    const wall = seconds(t);
    const d = process.cpuUsage(c);
    dec.push({ wall, cpu: (d.user + d.system) / 1e6 });
    process.stderr.write(`  run ${i + 1}/${runs}: ${line.join(', ')}, decode ${wall.toFixed(2)} s (load ${loadavg()[0]!.toFixed(1)})\n`);
  }
  const result: WayResult[] = [];
  for (const out of outs) {
    const tc = median(times.get(`${WAYS[0]!.name}|${out}`)!.map((t) => t.wall));
    for (const way of ways) {
      const ts = times.get(`${way.name}|${out}`)!;
      const walls = ts.map((t) => t.wall);
      const wallSec = median(walls);
      result.push({ way: way.name, out, wallSec, wallMin: Math.min(...walls), wallMax: Math.max(...walls), cpuSec: median(ts.map((t) => t.cpu)), eventsPerSec: events / wallSec, vsTraceCmd: tc / wallSec });
    }
  }
  const decWall = median(dec.map((d) => d.wall));
  const decCpu = median(dec.map((d) => d.cpu));
  return { file: label, events, runs, load: [load0, loadavg()[0]!], ways: result, decode: { wallSec: decWall, cpuSec: decCpu, eventsPerSec: events / decWall, eventsPerCpuSec: events / decCpu } };
}

function render(r: FileResult): string {
  const M = (x: number): string => (x / 1e6).toFixed(2).padStart(6) + ' M/s';
  const rows = r.ways.map(
    (w) => `  ${(w.way + ' >' + (w.out === 'null' ? '/dev/null' : 'pipe')).padEnd(42)} ${w.wallSec.toFixed(2).padStart(6)} s (${w.wallMin.toFixed(2)}-${w.wallMax.toFixed(2)})  ${M(w.eventsPerSec)}  cpu ${w.cpuSec.toFixed(2).padStart(6)} s  ${w.vsTraceCmd.toFixed(2)}x`,
  );
  return [
    `report, ${r.file}: ${r.events} events, median of ${r.runs} interleaved runs, load average ${r.load[0].toFixed(1)} -> ${r.load[1].toFixed(1)}`,
    `  ${''.padEnd(42)} wall (min-max)              events/s    cpu            trace-cmd's wall / this`,
    ...rows,
    `  lkst decode only (typed records, no text)  ${r.decode.wallSec.toFixed(2).padStart(6)} s  ${M(r.decode.eventsPerSec)} by wall, ${M(r.decode.eventsPerCpuSec)} by CPU time`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const runs = Number(process.env.LKST_BENCH_RUNS ?? 5);
  const dir = mkdtempSync(join(process.env.LKST_BENCH_TMP || tmpdir(), 'lkst-bench-report-'));
  try {
    const path = process.env.LKST_BENCH_FILE || makeTrace(dir, Number(process.env.LKST_BENCH_STORM ?? 620_000), Number(process.env.LKST_BENCH_BUFFER_KB ?? 262144));
    // The file as trace-cmd wrote it (v7, compressed by default) and without compression.
    const plain = join(dir, 'plain.dat');
    const conv = spawnSync('trace-cmd', ['convert', '-i', path, '--compression', 'none', '-o', plain], { stdio: 'ignore' });
    const ways = process.env.LKST_BENCH_WAYS ? WAYS.filter((_w, i) => i === 0 || process.env.LKST_BENCH_WAYS!.split(',').includes(String(i))) : WAYS;
    const results = [benchFile('as trace-cmd wrote it', path, runs, ways)];
    if (conv.status === 0) results.push(benchFile('uncompressed', plain, runs, ways));
    for (const r of results) process.stdout.write(render(r));
    if (process.env.LKST_BENCH_JSON) writeFileSync(process.env.LKST_BENCH_JSON, JSON.stringify(results, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
