/** Processes and recordings that tests of live changes to handlers on BPF start and steer. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from './cli.js';

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
