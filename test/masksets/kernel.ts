/** Test helpers for masksets and handlers on the real kernel: temp config, workers, reading what was recorded. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Instance } from '../../src/tracefs/instance.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { recordType, readFields } from '../../src/ringbuf/fields.js';
import { availableEvents, readLiveFormat } from '../../src/events/live.js';
import { clearInstance } from '../../src/masksets/apply.js';
import { drainRawPipe } from '../helpers/capture.js';

let seq = 0;

/** A private LKST_CONFIG_DIR and LKST_STATE_DIR for this process; removed by the returned function. */
export function tempConfig(): { root: string; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'lkst-masksets-test-'));
  process.env['LKST_CONFIG_DIR'] = join(root, 'etc');
  process.env['LKST_STATE_DIR'] = join(root, 'run');
  return { root, done: () => rmSync(root, { recursive: true, force: true }) };
}

/** Runs fn with a private instance; its events, triggers, filters and pids are cleared and it is removed, even on failure. */
export async function withCleanInstance<T>(tag: string, fn: (inst: Instance) => T | Promise<T>): Promise<T> {
  const inst = Instance.createOwned(`mt-${tag}-${++seq}`);
  try {
    return await fn(inst);
  } finally {
    try {
      inst.tracingOn = false;
      clearInstance(inst);
    } finally {
      inst.remove();
    }
  }
}

export interface Rec {
  readonly ts: number;
  readonly name: string;
  readonly pid: number;
  /** The marker text for ftrace:print records. */
  readonly text?: string;
  /** Decoded fields, for the events readRecords was asked to decode. */
  readonly fields?: Record<string, unknown>;
}

const idNames = new Map<number, string>();

function nameOf(id: number): string {
  if (!idNames.size) {
    const top = tracefs();
    for (const name of availableEvents()) {
      const [system, event] = name.split(':') as [string, string];
      if (top.has(`events/${system}/${event}/id`)) idNames.set(Number(top.read(`events/${system}/${event}/id`)), name);
    }
    // ftrace's own events have no id file, only the ID line of their format.
    for (const event of ['kernel_stack', 'print']) idNames.set(readLiveFormat('ftrace', event).id, `ftrace:${event}`);
  }
  return idNames.get(id) ?? `#${id}`;
}

/** Every record the instance holds now, consumed from its per-CPU raw pipes, in time order. */
export function readRecords(inst: Instance, decode: string[] = []): Rec[] {
  const pageSize = (inst.subbufSizeKb ?? 4) * 1024;
  const print = readLiveFormat('ftrace', 'print');
  const formats = new Map(decode.map((n) => {
    const [system, event] = n.split(':') as [string, string];
    const f = readLiveFormat(system, event);
    return [f.id, f] as const;
  }));
  const out: Rec[] = [];
  for (const cpu of inst.cpus()) {
    const buf = drainRawPipe(inst.rawPipePath(cpu), pageSize);
    for (let off = 0; off + pageSize <= buf.length; off += pageSize) {
      forEachRecord(buf, off, pageSize, (ts, dataOff, dataLen) => {
        const id = recordType(buf, dataOff);
        const pid = buf.readInt32LE(dataOff + 4);
        if (id === print.id) {
          const text = String(readFields(buf, dataOff, dataLen, print)['buf']).replace(/\n$/, '');
          out.push({ ts, name: 'ftrace:print', pid, text });
        } else if (formats.has(id)) {
          out.push({ ts, name: nameOf(id), pid, fields: readFields(buf, dataOff, dataLen, formats.get(id)!) });
        } else {
          out.push({ ts, name: nameOf(id), pid });
        }
      });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** Records between the worker's "begin TAG" and "end TAG" markers. */
export function between(recs: readonly Rec[], tag: string): Rec[] {
  const b = recs.findIndex((r) => r.text === `begin ${tag}`);
  const e = recs.findIndex((r) => r.text === `end ${tag}`);
  if (b < 0) throw new Error(`no begin ${tag} marker in the trace`);
  return recs.slice(b + 1, e < 0 ? undefined : e);
}

export function count(recs: readonly Rec[], name: string, pid?: number): number {
  return recs.filter((r) => r.name === name && (pid === undefined || r.pid === pid)).length;
}

// The worker: a node process that waits for commands, each bracketed by markers it writes itself.
const WORKER = `
const fs = require('fs'), cp = require('child_process'), rl = require('readline').createInterface({ input: process.stdin });
const marker = process.argv[1];
const mark = (t) => { try { fs.writeFileSync(marker, t); } catch {} };
rl.on('line', (line) => {
  const [cmd, tag, n] = line.split(' ');
  mark('begin ' + tag);
  let s = 0, fd = -1;
  const one = Buffer.alloc(1);
  for (let i = 0; i < Number(n || 0); i++) {
    if (cmd === 'getppid') s += process.ppid;
    else if (cmd === 'getuid') s += process.getuid();
    else if (cmd === 'kill') process.kill(process.pid, 0);
    else if (cmd === 'exec') cp.spawnSync('/bin/true');
    else if (cmd === 'mixed') { s += process.ppid; s += process.getuid(); }
    else if (cmd === 'pread') { if (i === 0) fd = fs.openSync('/dev/zero', 'r'); fs.readSync(fd, one, 0, 1, i); }
  }
  mark('end ' + tag);
  process.stdout.write('done ' + s + '\\n');
});
`;

/** A child process with a known pid that does syscalls on command. */
export class Worker {
  readonly child: ChildProcessWithoutNullStreams;
  private pending: (() => void)[] = [];

  constructor(markerPath: string) {
    this.child = spawn(process.execPath, ['-e', WORKER, markerPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        buf = buf.slice(nl + 1);
        this.pending.shift()?.();
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Runs `cmd` n times between "begin tag" and "end tag" markers; resolves when it is done. */
  run(cmd: 'getppid' | 'getuid' | 'kill' | 'exec' | 'mixed' | 'pread', tag: string, n = 1): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.child.stdin.write(`${cmd} ${tag} ${n}\n`);
    });
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Runs fn with workers writing markers into inst; they are killed afterwards. */
export async function withWorkers<T>(inst: Instance, n: number, fn: (...w: Worker[]) => Promise<T>): Promise<T> {
  const ws = Array.from({ length: n }, () => new Worker(inst.path('trace_marker')));
  try {
    return await fn(...ws);
  } finally {
    for (const w of ws) w.stop();
  }
}
