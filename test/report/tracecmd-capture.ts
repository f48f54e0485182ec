/** A trace file written by trace-cmd itself from a private instance, and trace-cmd's report of it. */
import { spawnSync } from 'node:child_process';
import { tracecmd } from '../helpers/tracecmd-guard.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Instance } from '../../src/tracefs/instance.js';
import { enableEvents } from '../helpers/capture.js';

/** Systems whose every event is enabled: the list (sched, irq, timer, syscalls, kmem) and more. */
export const REPORT_EVENTS = [
  'sched:*', 'irq:*', 'timer:*', 'raw_syscalls:*', 'syscalls:*', 'kmem:*', 'signal:*', 'workqueue:*', 'task:*',
  'ipi:*', 'irq_vectors:*', 'exceptions:*', 'block:*', 'filemap:*', 'net:*', 'skb:*', 'sock:*', 'tcp:*', 'rcu:*',
  'power:*', 'writeback:*', 'mmap_lock:*', 'tlb:*', 'page_pool:*', 'percpu:*', 'oom:*', 'compaction:*', 'vmscan:*',
];

export interface TraceCmdCapture {
  dir: string;
  path: string;
  /** trace-cmd report's output, as bytes (latin1 text). */
  report: string;
  cleanup(): void;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'latin1', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * trace-cmd sizes saved_cmdlines (and /proc/kallsyms), then copies it: when the file changes in
 * between (other tests run concurrently: tasks, BPF programs and modules come and go), it warns and
 * writes a file whose section runs past its data, or fails (kallsyms).
 */
const CMDLINES_RACE = /error in size of file '[^']*(saved_cmdlines|kallsyms)'/;

/** A workload touching processes, files, block I/O, sockets, signals and timers. */
function workload(dir: string): void {
  const script = [
    'ls -R /usr/lib >/dev/null 2>&1',
    `dd if=/dev/zero of=${dir}/blk bs=64k count=16 conv=fsync 2>/dev/null`,
    'cat /proc/net/tcp /proc/self/maps >/dev/null',
    '(exec 3<>/dev/tcp/127.0.0.1/1) 2>/dev/null',
    'sleep 0.02 & wait',
    'kill -0 $$',
    'for i in 1 2 3; do sh -c "true"; done',
  ].join('; ');
  spawnSync('bash', ['-c', script]);
}

export interface CaptureOptions {
  /** Events to enable (default REPORT_EVENTS). */
  events?: string[];
  /** What runs while tracing (default: files, block I/O, sockets, signals, timers). */
  workload?: (dir: string, inst: Instance) => void;
}

/**
 * Records REPORT_EVENTS into a private instance with small per-CPU buffers (so pages lose events).
 * A recording trace-cmd wrote damaged or failed to write (its saved_cmdlines or kallsyms race) is
 * made again, up to three times.
 */
export function captureWithTraceCmd(tag: string, bufferKb = 512, opts: CaptureOptions = {}): TraceCmdCapture {
  const dir = mkdtempSync(join(tmpdir(), `lkst-report-${tag}-`));
  const path = join(dir, 'tc.dat');
  for (let attempt = 1; ; attempt++) {
    const r = extractOnce(`${tag}-${attempt}`, dir, path, bufferKb, opts);
    const raced = CMDLINES_RACE.test(r.stderr);
    if (!raced && r.status !== 0) throw new Error(`trace-cmd extract failed: ${r.stderr}`);
    if (!raced) break;
    if (attempt === 3) throw new Error(`trace-cmd extract raced a changing saved_cmdlines or kallsyms three times: ${r.stderr}`);
  }
  const report = run('trace-cmd', ['report', path]);
  writeFileSync(join(dir, 'tc.txt'), report, 'latin1');
  return { dir, path, report, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One recording written to path by trace-cmd extract; returns how extract ended. */
function extractOnce(tag: string, dir: string, path: string, bufferKb: number, opts: CaptureOptions): { status: number | null; stderr: string } {
  const inst = Instance.create(`lkst-test-report-${tag}-${process.pid}`);
  try {
    inst.bufferSizeKb = bufferKb;
    enableEvents(inst, (opts.events ?? REPORT_EVENTS).filter((n) => inst.has(`events/${n.split(':')[0]}`)));
    inst.tracingOn = true;
    inst.mark('lkst report test: start'); // ftrace:print, as lkst's own markers
    (opts.workload ?? workload)(dir, inst);
    inst.mark('lkst report test: end');
    inst.tracingOn = false;
    return tracecmd(['extract', '-B', inst.name, '-o', path], 'latin1');
  } finally {
    inst.remove(); // extract removes it already; this covers a failure before that
  }
}

export function readLatin1(path: string): string {
  return readFileSync(path, 'latin1');
}
