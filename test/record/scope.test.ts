/** lkst record -P / --follow / -F on the real kernel: every recorded event belongs to the scoped tasks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record, type RecordingResult, type RecordOptions } from '../../src/record/recorder.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { readFields, recordType } from '../../src/ringbuf/fields.js';
import { readLiveFormat } from '../../src/events/live.js';
import type { EventFormat } from '../../src/events/format.js';

const EVENTS = ['sched:sched_switch', 'sched:sched_wakeup', 'sched:sched_process_fork', 'sched:sched_process_exec', 'raw_syscalls:sys_enter', 'irq:softirq_entry'];
const refs = EVENTS.map((e) => {
  const [system, event] = e.split(':') as [string, string];
  return { system, event };
});

interface Rec {
  ts: number;
  name: string;
  pid: number;
  f: Record<string, unknown>;
}

function decode(r: RecordingResult): Rec[] {
  const formats = new Map<number, [string, EventFormat]>(refs.map(({ system, event }) => [readLiveFormat(system, event).id, [`${system}:${event}`, readLiveFormat(system, event)]]));
  const out: Rec[] = [];
  for (const { source } of r.cpus) {
    const buf = readFileSync(source);
    for (let off = 0; off + r.meta.pageSize <= buf.length; off += r.meta.pageSize)
      forEachRecord(buf, off, r.meta.pageSize, (ts, at, len) => {
        const fmt = formats.get(recordType(buf, at));
        out.push({ ts, name: fmt?.[0] ?? 'other', pid: buf.readInt32LE(at + 4), f: fmt ? readFields(buf, at, len, fmt[1]) : {} });
      });
  }
  // In time order across CPUs: a parent's fork comes before what its child does.
  return out.sort((a, b) => a.ts - b.ts);
}

/** The root and every task forked from it in the recording (forks are recorded in the parent's context). */
function family(recs: readonly Rec[], root: number): Set<number> {
  const set = new Set([root]);
  for (const r of recs) if (r.name === 'sched:sched_process_fork' && set.has(Number(r.f['parent_pid']))) set.add(Number(r.f['child_pid']));
  return set;
}

/** What set_event_pid keeps: a switch if either side is scoped, a wakeup of or by a scoped task, otherwise the current task's. */
function inScope(r: Rec, set: Set<number>): boolean {
  if (r.name === 'sched:sched_switch') return set.has(Number(r.f['prev_pid'])) || set.has(Number(r.f['next_pid']));
  if (r.name === 'sched:sched_wakeup') return set.has(r.pid) || set.has(Number(r.f['pid']));
  return set.has(r.pid);
}

const switches = (recs: readonly Rec[], pid: number) => ({
  out: recs.filter((r) => r.name === 'sched:sched_switch' && Number(r.f['prev_pid']) === pid).length,
  in: recs.filter((r) => r.name === 'sched:sched_switch' && Number(r.f['next_pid']) === pid).length,
});

/**
 * A process that waits for a line, then forks a shell (the grandchild of this test) that runs
 * /bin/true twice, runs /bin/true itself, and exits; the recording ends when it exits.
 */
async function recordProcess(follow: boolean): Promise<{ recs: Rec[]; pid: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-scope-'));
  const proc = spawn('/bin/sh', ['-c', 'read -r _; /bin/sh -c "/bin/true; /bin/true"; /bin/true'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const ctrl = new AbortController();
  proc.on('exit', () => ctrl.abort());
  try {
    const opts: RecordOptions = {
      events: [],
      workDir: dir,
      signal: ctrl.signal,
      scope: { kind: 'pids', processes: [proc.pid!], follow },
      setup: (inst) => {
        for (const e of refs) inst.setEventEnabled(e.system, e.event, true);
        proc.stdin!.end('go\n');
        return refs;
      },
    };
    const r = await record(opts);
    const recs = decode(r);
    r.discard();
    return { recs, pid: proc.pid! };
  } finally {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('-P without --follow: only the process itself, switches into it and out of it; its children are left out', async () => {
  const { recs, pid } = await recordProcess(false);
  const strays = recs.filter((r) => !inScope(r, new Set([pid])));
  assert.deepEqual(strays.slice(0, 5), [], `${strays.length} events of other tasks`);
  const sw = switches(recs, pid);
  assert.ok(sw.in > 0 && sw.out > 0, `switches into (${sw.in}) and out of (${sw.out}) the process`);
  const kids = [...family(recs, pid)].filter((p) => p !== pid);
  assert.ok(kids.length >= 2, 'the process forked the shell and /bin/true (its fork events are its own)');
  assert.equal(recs.filter((r) => kids.includes(r.pid) && r.name === 'raw_syscalls:sys_enter').length, 0, 'no syscall of a child');
  assert.ok(recs.some((r) => r.pid === pid && r.name === 'raw_syscalls:sys_enter'));
});

test('-P --follow: the process and everything it forks later, and nothing else', async () => {
  const { recs, pid } = await recordProcess(true);
  const set = family(recs, pid);
  const strays = recs.filter((r) => !inScope(r, set));
  assert.deepEqual(strays.slice(0, 5), [], `${strays.length} events of other tasks`);
  const forks = recs.filter((r) => r.name === 'sched:sched_process_fork');
  const grandchildren = forks.filter((r) => r.pid !== pid).map((r) => Number(r.f['child_pid']));
  assert.equal(grandchildren.length, 2, 'the child shell forked /bin/true twice, and its forks were recorded');
  for (const g of grandchildren) assert.ok(recs.some((r) => r.pid === g && r.name === 'sched:sched_process_exec'), `grandchild ${g} exec recorded`);
  const sw = switches(recs, pid);
  assert.ok(sw.in > 0 && sw.out > 0, `switches into (${sw.in}) and out of (${sw.out}) the process`);
});

test('-F: the command from its first exec, and its children; nothing of other tasks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-scope-'));
  try {
    const r = await record({ events: refs, workDir: dir, scope: { kind: 'command' }, command: ['/bin/sh', '-c', '/bin/sh -c "/bin/true"; /bin/true'] });
    const recs = decode(r);
    r.discard();
    assert.equal(r.commandExitCode, 0);
    const pid = r.commandPid!;
    const set = family(recs, pid);
    const strays = recs.filter((r) => !inScope(r, set));
    assert.deepEqual(strays.slice(0, 5), [], `${strays.length} events of other tasks`);
    const execs = recs.filter((x) => x.name === 'sched:sched_process_exec');
    assert.equal(execs[0]?.pid, pid, "the command's own exec is the first exec recorded: nothing it did was missed");
    assert.ok(set.size >= 2, 'the command forked the child shell');
    assert.ok(execs.some((x) => x.pid !== pid && set.has(x.pid)), "the child's exec is recorded");
    const sw = switches(recs, pid);
    assert.ok(sw.in > 0 && sw.out > 0, `switches into (${sw.in}) and out of (${sw.out}) the command`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
