/** Processes and recordings that tests of live changes to handlers on BPF start and steer. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CountsReport } from '../../src/bpf/counts.js';
import type { Instance } from '../../src/tracefs/instance.js';
import { CLI, lkst } from './cli.js';

/** A shell that stops itself and, once continued, runs script (its syscalls all come after the continue). */
export async function stopped(script: string): Promise<{ child: ChildProcess; pid: number; exited: Promise<unknown> }> {
  const child = spawn('sh', ['-c', `kill -STOP $$; ${script}`], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  for (let i = 0; i < 200; i++) {
    if (/^\d+ \(.*\) T/.test(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))) return { child, pid: child.pid!, exited };
    await sleep(20);
  }
  throw new Error('the shell did not stop');
}

/** Starts `lkst record -m NAME` until the file DIR/go exists; resolves once its BPF programs are attached. */
export async function recording(dir: string, env: NodeJS.ProcessEnv, maskset: string, file: string): Promise<{ done: Promise<unknown> }> {
  const go = join(dir, 'go');
  const child = spawn(process.execPath, [CLI, 'record', '-q', '-m', maskset, '-o', file, '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit').then(([code]) => assert.equal(code, 0, err));
  const live = join(dir, 'run', 'bpf');
  // The runner makes its control FIFO once every program is attached.
  for (let i = 0; i < 600 && !(existsSync(live) && readdirSync(live).some((d) => existsSync(join(live, d, 'ctl')))); i++) await sleep(50);
  return { done: exited }; // wrapped: an async function returning a promise would wait for it
}

/** Records per pid of one event in one buffer, as trace-cmd prints them. */
export function recordsByPid(file: string, buffer: string, event: string): Map<number, number> {
  const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(tc.status, 0, tc.stderr);
  const out = new Map<number, number>();
  for (const l of tc.stdout.split('\n')) {
    if (!l.trimStart().startsWith(`${buffer}:`) || !l.includes(` ${event}:`)) continue;
    const pid = Number(/-(\d+)\s+\[\d+\]/.exec(l)![1]);
    out.set(pid, (out.get(pid) ?? 0) + 1);
  }
  return out;
}

/** The count table of an event (by=pid) as stored in the trace. */
export function countsByPid(file: string, env: NodeJS.ProcessEnv, event: string): { counts: Map<number, number>; lost: number } {
  const st = JSON.parse(lkst(['stats', '--json', file], { env }).stdout) as { counts: CountsReport; lostTotal: number; lostExact: boolean };
  assert.equal(st.lostExact, true);
  assert.equal(st.counts.nokey, 0);
  const t = st.counts.tables.find((x) => x.event === event)!;
  return { counts: new Map(t.rows.map((r) => [Number(r.values[0]), r.count])), lost: st.lostTotal };
}

/**
 * Runs body during `lkst record -m maskset` (started, its programs attached; ended after body) while
 * inst records raw_syscalls:sys_enter with filter, to count what the kernel saw; resolves with that
 * instance's text once the recording has written its file.
 */
export async function recordBeside(inst: Instance, filter: string, rec: { dir: string; env: NodeJS.ProcessEnv; maskset: string; file: string }, body: () => Promise<void>): Promise<string> {
  inst.bufferSizeKb = 4096;
  inst.setFilter('raw_syscalls', 'sys_enter', filter);
  inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
  try {
    const { done } = await recording(rec.dir, rec.env, rec.maskset, rec.file);
    try {
      await body();
    } finally {
      writeFileSync(join(rec.dir, 'go'), '');
    }
    await done;
  } finally {
    inst.setEventEnabled('raw_syscalls', 'sys_enter', false);
  }
  assert.equal(inst.cpus().reduce((n, c) => n + inst.cpuStats(c).overrun, 0), 0, 'the ftrace instance kept every event');
  return inst.read('trace');
}

/** Continues a stopped shell and waits for it to end. */
export async function runToEnd(p: { child: ChildProcess; exited: Promise<unknown> }): Promise<void> {
  p.child.kill('SIGCONT');
  await p.exited;
}

/** The sys_enter events of a pid in an ftrace instance's text (ids: a regexp of the syscall numbers). */
export function syscallsOf(trace: string, pid: number, ids = '\\d+'): number {
  return [...trace.matchAll(new RegExp(`-${pid}\\s+\\[\\d+\\].*?sys_enter: NR ${ids} `, 'g'))].length;
}
