/**
 * A trace whose CPUs' data start at different times, recorded from this kernel: a small overwrite
 * buffer floods on CPU 0, then on CPU 1, and is read only at the end, so each CPU keeps just its
 * newest pages and CPU 1's data begins long after CPU 0's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTraceDat } from '../../src/file/writer.js';
import { capture } from '../helpers/capture.js';
import type { RecordedTrace } from './record-trace.js';

export const WRAP_EVENTS = ['sched:sched_switch', 'sched:sched_waking', 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'];

/** Floods of one-byte reads pinned to CPU 0, then CPU 1 (the VM has 2 CPUs). */
function floodEachCpu(): void {
  for (const cpu of ['0', '1']) spawnSync('taskset', ['-c', cpu, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=100000', 'status=none']);
}

export async function recordWrappedTrace(): Promise<RecordedTrace> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-wrapped-'));
  const path = join(dir, 'trace.dat');
  try {
    const cap = await capture({ events: WRAP_EVENTS, bufferKb: 16, workload: floodEachCpu });
    await writeTraceDat(path, cap.meta, cap.cpus);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { path, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
