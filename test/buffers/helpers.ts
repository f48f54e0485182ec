import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Instance } from '../../src/tracefs/instance.js';
import { bufferInstanceName } from '../../src/buffers/name.js';
import { createBuffer, type CreateBufferOptions } from '../../src/buffers/buffer.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { readField, recordType } from '../../src/ringbuf/fields.js';
import { parseFormat, type EventFormat } from '../../src/events/format.js';
import { tracefs } from '../../src/tracefs/tracefs.js';

let seq = 0;

/** A buffer name no other test (or test run) uses. */
export function testBufferName(tag: string): string {
  return `t${process.pid}-${tag}-${++seq}`;
}

function removeBuffer(name: string): void {
  const inst = bufferInstanceName(name);
  if (Instance.exists(inst)) Instance.open(inst).remove();
}

/** Runs fn with fresh buffer names; the buffers are removed afterwards, even when fn fails or the process exits. */
export async function withBufferNames<T>(tags: string[], fn: (...names: string[]) => T | Promise<T>): Promise<T> {
  const names = tags.map(testBufferName);
  const onExit = (): void => names.forEach(removeBuffer);
  process.on('exit', onExit);
  let ok = false;
  try {
    const r = await fn(...names);
    ok = true;
    return r;
  } finally {
    try {
      onExit();
      process.off('exit', onExit);
    } catch (err) {
      // biome-ignore lint/correctness/noUnsafeFinally: a cleanup failure is thrown only when fn succeeded
      if (ok) throw err; // otherwise the test's own failure is the one to show; the exit hook retries
    }
  }
}

export function liveFormat(system: string, event: string): EventFormat {
  return parseFormat(tracefs().read(`events/${system}/${event}/format`), system);
}

export interface SeqEvent {
  ts: number;
  seq: number;
  pid: number;
}

/** pread64 is syscall 17 on x86_64; its 4th argument (the file offset) carries the workload's sequence number. */
export const PREAD64 = 17;

/** The sys_enter(pread64) records of some raw page files: (time, sequence number, pid). */
export function seqEvents(sources: (string | Buffer)[], pageSize: number): SeqEvent[] {
  const fmt = liveFormat('raw_syscalls', 'sys_enter');
  const id = fmt.fieldByName.get('id')!;
  const args = fmt.fieldByName.get('args')!;
  const pidF = fmt.fieldByName.get('common_pid')!;
  const out: SeqEvent[] = [];
  for (const src of sources) {
    const data = Buffer.isBuffer(src) ? src : readFileSync(src);
    for (let off = 0; off + pageSize <= data.length; off += pageSize) {
      forEachRecord(data, off, pageSize, (ts, dOff, dLen) => {
        if (recordType(data, dOff) !== fmt.id || readField(data, dOff, dLen, id) !== PREAD64) return;
        const a = data.readBigUInt64LE(dOff + args.offset + 3 * 8);
        out.push({ ts, seq: Number(a), pid: readField(data, dOff, dLen, pidF) as number });
      });
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * A child that numbers its pread64 calls (offset 1, 2, 3, ...) until killed: every one of its
 * syscalls is identifiable in any buffer. Resolves once it runs.
 */
export async function startSeqWorkload(opts: { cpu?: number; spin?: number } = {}): Promise<ChildProcess> {
  // spin: an empty loop between calls, to slow the event rate down.
  const script =
    "const fs=require('fs');const fd=fs.openSync('/dev/zero','r');const b=Buffer.alloc(1);" +
    `process.stdout.write('ready\\n');for(let i=1;;i++){fs.readSync(fd,b,0,1,i);for(let j=0;j<${opts.spin ?? 0};j++);}`;
  const cmd = opts.cpu === undefined ? [process.execPath, '-e', script] : ['taskset', '-c', String(opts.cpu), process.execPath, '-e', script];
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT']; // under node --test the child would report to the runner instead
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve());
  });
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await done;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The workload's sequence numbers in a trace.dat, as trace-cmd reports them. */
export function reportedSeqs(file: string): number[] {
  const text = execFileSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const out: number[] = [];
  for (const m of text.matchAll(/sys_enter:\s+NR 17 \([0-9a-f]+, [0-9a-f]+, [0-9a-f]+, ([0-9a-f]+)/g)) out.push(parseInt(m[1]!, 16));
  return out;
}

/** A buffer that records only the numbered workload's pread64 calls. */
export function seqBuffer(name: string, pid: number, opts: CreateBufferOptions): Instance {
  const inst = createBuffer(name, opts);
  inst.setFilter('raw_syscalls', 'sys_enter', `common_pid == ${pid} && id == ${PREAD64}`);
  inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
  return inst;
}
