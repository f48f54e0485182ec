// lkst's BPF count handler: counts kept in the kernel, no record per event, equal to what ftrace
// records of the same tracepoint.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileBpf } from '../../src/bpf/compile.js';
import { countProgramSource } from '../../src/bpf/codegen.js';
import { BpfRun } from '../../src/bpf/runner.js';
import { readLiveFormat } from '../../src/events/live.js';
import { withInstance } from '../helpers/instance.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';

const skip = tracepointBpfSkip();
const COPIES = 15_000;

test('count by=common_pid,id on raw_syscalls:sys_enter: the kernel-side counts of a dd equal what ftrace records of it', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpfcount-'));
  try {
    await withInstance('bpf-count', async (inst) => {
      const fmt = readLiveFormat('raw_syscalls', 'sys_enter');
      const src = join(dir, 'count.bpf.c');
      writeFileSync(src, countProgramSource(fmt, ['common_pid', 'id']));
      compileBpf(src, join(dir, 'count.o'));
      inst.bufferSizeKb = 8192;
      inst.setFilter('raw_syscalls', 'sys_enter', 'id == 0 || id == 1');
      inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
      const run = new BpfRun(join(dir, 'count.o'), dir);
      let dd: number;
      try {
        assert.equal(await run.started(), 1);
        inst.tracingOn = true;
        dd = spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${COPIES}`], { stdio: 'ignore' }).pid;
        inst.tracingOn = false;
      } finally {
        inst.setEventEnabled('raw_syscalls', 'sys_enter', false);
      }
      const res = await run.finish();
      assert.equal(res.cpus.reduce((n, c) => n + c.written, 0), 0, 'no record per event');
      assert.equal(res.cpus.reduce((n, c) => n + c.lost, 0), 0, 'every key fit the table');
      const counted = new Map(res.counts.map((c) => [`${c.key.readBigUInt64LE(0)}:${c.key.readBigUInt64LE(8)}`, c.count]));
      const ftrace = new Map<string, number>();
      for (const m of inst.read('trace').matchAll(new RegExp(`-${dd!}\\s+\\[\\d+\\].*?sys_enter: NR (\\d+) `, 'g'))) ftrace.set(`${dd!}:${m[1]}`, (ftrace.get(`${dd!}:${m[1]}`) ?? 0) + 1);
      for (const id of [0, 1]) {
        const key = `${dd!}:${id}`;
        assert.ok((ftrace.get(key) ?? 0) >= COPIES, `ftrace recorded ${ftrace.get(key)} of dd's syscall ${id}`);
        assert.equal(counted.get(key), ftrace.get(key), `dd's syscall ${id}: counted in the kernel as ftrace recorded`);
      }
      assert.ok(res.counts.length > 2, 'other processes and syscalls were counted too');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
