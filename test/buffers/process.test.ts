import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createBuffer } from '../../src/buffers/buffer.js';
import { bufferStatus } from '../../src/buffers/status.js';
import type { Instance } from '../../src/tracefs/instance.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { readField, recordType } from '../../src/ringbuf/fields.js';
import { drainRawPipe } from '../helpers/capture.js';
import { liveFormat, withBufferNames } from './helpers.js';

interface Seen {
  /** common_pid of every sys_enter. */
  syscallPids: Set<number>;
  /** child pid -> parent pid of every sched_process_fork. */
  forks: Map<number, number>;
  switches: { prev: number; next: number }[];
}

function seen(inst: Instance): Seen {
  const sys = liveFormat('raw_syscalls', 'sys_enter');
  const fork = liveFormat('sched', 'sched_process_fork');
  const sw = liveFormat('sched', 'sched_switch');
  const f = (fmt: typeof sys, name: string) => fmt.fieldByName.get(name)!;
  const out: Seen = { syscallPids: new Set(), forks: new Map(), switches: [] };
  for (const cpu of inst.cpus()) {
    const data = drainRawPipe(inst.rawPipePath(cpu), 4096);
    for (let off = 0; off < data.length; off += 4096) {
      forEachRecord(data, off, 4096, (_ts, d, len) => {
        const type = recordType(data, d);
        if (type === sys.id) out.syscallPids.add(readField(data, d, len, f(sys, 'common_pid')) as number);
        else if (type === fork.id) out.forks.set(readField(data, d, len, f(fork, 'child_pid')) as number, readField(data, d, len, f(fork, 'parent_pid')) as number);
        else if (type === sw.id) out.switches.push({ prev: readField(data, d, len, f(sw, 'prev_pid')) as number, next: readField(data, d, len, f(sw, 'next_pid')) as number });
      });
    }
  }
  return out;
}

function enable(inst: Instance): void {
  inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
  inst.setEventEnabled('sched', 'sched_process_fork', true);
  inst.setEventEnabled('sched', 'sched_switch', true);
}

test("per-process buffer (the seed's example): one process and its children in their own buffer, the rest of the system in another", async () => {
  await withBufferNames(['proc', 'rest'], async (procName, restName) => {
    // A shell that waits for a line, then forks a few children: its pid is known before it acts.
    const child = spawn('sh', ['-c', 'read go; for i in 1 2 3 4 5; do cat /proc/self/stat >/dev/null; done'], { stdio: ['pipe', 'ignore', 'inherit'] });
    const pid = child.pid!;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const proc = createBuffer(procName, { sizeKb: 1024, pids: [pid], follow: true });
      const rest = createBuffer(restName, { sizeKb: 2048, notPids: [pid, process.pid], follow: true });
      const pst = bufferStatus(proc);
      assert.deepEqual(pst.pids, { pids: [pid], notPids: [], follow: true });
      assert.deepEqual(bufferStatus(rest).pids.notPids.sort(), [pid, process.pid].sort());
      enable(proc);
      enable(rest);
      proc.tracingOn = true;
      rest.tracingOn = true;
      child.stdin!.end('go\n');
      await exited;
      spawnSync('ls', ['/proc']); // something else happening meanwhile
      proc.tracingOn = false;
      rest.tracingOn = false;
      const p = seen(proc);
      const r = seen(rest);
      // The children the shell forked, as the per-process buffer saw them.
      const family = new Set([pid]);
      for (const [c, parent] of p.forks) if (family.has(parent)) family.add(c);
      assert.ok(family.size >= 6, `the shell and its 5 children (${family.size})`);
      assert.ok(p.syscallPids.has(pid));
      for (const x of p.syscallPids) assert.ok(family.has(x), `pid ${x} in the per-process buffer is the shell or a child of it`);
      assert.ok([...family].filter((x) => x !== pid).some((x) => p.syscallPids.has(x)), 'the children were followed');
      for (const x of family) assert.ok(!r.syscallPids.has(x), `pid ${x} of the shell's family is not in the other buffer`);
      assert.ok(r.syscallPids.size > 0, 'the rest of the system went into the other buffer');
      // sched_switch is kept when either side is wanted (the kernel's rule): each one in the
      // per-process buffer has the family on one side.
      assert.ok(p.switches.every((s) => family.has(s.prev) || family.has(s.next)));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
