// The Perfetto export of traces recorded from this kernel, decoded back with Perfetto's field numbers
// (perfetto-reader.ts) and checked against the trace's own events, as Perfetto's importer reads them.
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { machine, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import type { TraceEvent } from '../../src/analysis/event.js';
import type { Field } from '../../src/events/format.js';
import { withSink } from '../../src/export/file-sink.js';
import { exportPerfetto } from '../../src/export/perfetto.js';
import { FTRACE_PROTOS } from '../../src/export/perfetto/ftrace-protos.js';
import { parseUname } from '../../src/export/perfetto/system-info.js';
import { ANALYSIS_EVENTS, recordTrace, type RecordedTrace } from '../analysis/record-trace.js';
import { recordWrappedTrace } from '../analysis/wrapped-trace.js';
import { all, one, sint, str, type ProtoField } from './proto-reader.js';
import { genericFields, readPerfetto, type PfEvent, type PfTrace } from './perfetto-reader.js';

/** Numbers from Perfetto's protos: FtraceEvent payload fields and the messages' fields used here. */
const EV = { print: 3, schedSwitch: 4, schedWaking: 20, taskNewtask: 235, taskRename: 236, sysEnter: 329, generic: 327 };
const SWITCH = { prevComm: 1, prevPid: 2, prevState: 4, nextComm: 5, nextPid: 6 };
const WAKING = { comm: 1, pid: 2, prio: 3, success: 4, targetCpu: 5 };
const RENAME = { pid: 1, oldcomm: 2, newcomm: 3 };
const NEWTASK = { pid: 1, comm: 2, cloneFlags: 3 };
const PRINT = { buf: 2 };
const SYS_ENTER = { id: 1, args: 2 };
const FTRACE_CLOCK_LOCAL = 3;
const CLONE_THREAD = 0x10000;

const MARKER = 'lkst perfetto marker';
const RENAMED = 'lkst-renamed';

/** A record's fields as lkst decodes them, strings as latin1 text and integers as bigint. */
function lkstFields(ev: TraceEvent): Map<string, string | bigint | bigint[]> {
  const out = new Map<string, string | bigint | bigint[]>();
  for (const f of ev.fmt!.fields) {
    const v = ev.value(f);
    out.set(f.name, Array.isArray(v) ? (v as (number | bigint)[]).map((x) => BigInt(x)) : typeof v === 'string' || Buffer.isBuffer(v) ? (Buffer.isBuffer(v) ? v.toString('hex') : v) : BigInt(v));
  }
  return out;
}

/** A typed payload decoded by the table's numbers and proto types. */
function typedFields(field: number, payload: ProtoField[], key: string): Map<string, string | bigint | bigint[]> {
  const entry = FTRACE_PROTOS[key];
  assert.ok(entry && entry[0] === field, `${key} is written as FtraceEvent field ${field}`);
  const out = new Map<string, string | bigint | bigint[]>();
  for (const part of entry[1].split(',')) {
    const [, name, n, type, rep] = /^(\w+)=(\d+):(\w+)(\[\])?$/.exec(part)!;
    const got = all(payload, Number(n));
    if (!got.length) continue;
    const val = (f: ProtoField) => (type === 'string' ? f.bytes!.toString('latin1') : type!.startsWith('int') ? BigInt.asIntN(type === 'int32' ? 32 : 64, f.int!) : f.int!);
    out.set(name!, rep ? got.map((g) => val(g) as bigint) : val(got[0]!));
  }
  return out;
}

/** Per CPU, the events of the export in bundle order. */
function perCpu(t: PfTrace): Map<number, PfEvent[]> {
  const m = new Map<number, PfEvent[]>();
  for (const b of t.bundles) {
    let l = m.get(b.cpu);
    if (!l) m.set(b.cpu, (l = []));
    l.push(...b.events);
  }
  return m;
}

const stringish = (f: Field) => f.isString || f.arrayLen >= 0;

describe('Perfetto export', () => {
  let dir: string;
  let rec: RecordedTrace;
  let trace: OpenedTrace;
  let pf: PfTrace;
  let shellPid = 0;
  let nodePid = 0;
  let renamedPid = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkst-perfetto-'));
    const markerFile = join(dir, 'marker');
    const f = (n: string) => join(dir, n);
    // A shell that marks, signals itself, renames a child, starts node (a process with threads), then sleeps.
    const script = [
      `echo $$ > ${f('sh')}`,
      `echo '${MARKER}' > $(cat ${markerFile})`,
      `trap : USR1; kill -USR1 $$`,
      `sh -c 'printf ${RENAMED} > /proc/self/comm; echo $$ > ${f('renamed')}'`,
      `${process.execPath} -e "require('fs').writeFileSync('${f('node')}', String(process.pid))"`,
      `exec sleep 0.05`,
    ].join('; ');
    const events = [...ANALYSIS_EVENTS, 'task:task_newtask', 'task:task_rename', 'signal:signal_generate', 'signal:signal_deliver'];
    rec = await recordTrace(['sh', '-c', script], events, { onInstance: (inst) => writeFileSync(markerFile, inst.path('trace_marker')) });
    [shellPid, nodePid, renamedPid] = ['sh', 'node', 'renamed'].map((n) => Number(readFileSync(f(n), 'utf8')));
    trace = openTrace(rec.path);
    const path = join(dir, 't.perfetto');
    withSink(path, (s) => exportPerfetto(trace, s));
    pf = readPerfetto(path);
  });
  after(() => {
    trace?.close();
    rec?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every record once, per CPU in order, each field as the trace has it: typed by the protos or generic', () => {
    const got = perCpu(pf);
    const idx = new Map<number, number>();
    let typed = 0;
    let generic = 0;
    const typedKeys = new Set<string>();
    const genericKeys = new Set<string>();
    forEachEvent(trace, {
      event: (ev) => {
        const i = idx.get(ev.cpu) ?? 0;
        idx.set(ev.cpu, i + 1);
        const e = got.get(ev.cpu)?.[i];
        assert.ok(e, `cpu ${ev.cpu} record ${i} is exported`);
        assert.equal(e.ts, ev.ts);
        assert.equal(e.pid, Math.max(0, ev.pid));
        // Only timestamp, pid and the payload: the importer would read anything else as a payload.
        assert.deepEqual(e.all.map((x) => x.num).sort((a, b) => a - b), [1, 2, e.field].sort((a, b) => a - b));
        const key = `${ev.fmt!.system}:${ev.fmt!.name}`;
        const want = lkstFields(ev);
        if (e.field === EV.generic) {
          generic++;
          genericKeys.add(key);
          const g = genericFields(e.payload);
          assert.equal(g.name, ev.fmt!.name);
          for (const f of ev.fmt!.fields) {
            const w = want.get(f.name)!;
            assert.equal(stringish(f) ? String(g.fields.get(f.name)) : g.fields.get(f.name), stringish(f) && Array.isArray(w) ? w.join(',') : w, `${key} ${f.name}`);
          }
        } else {
          typed++;
          typedKeys.add(key);
          // Typed: every field of the format is in the message, with its value, and nothing else.
          assert.deepEqual(typedFields(e.field, e.payload, key), want, key);
        }
      },
    });
    assert.deepEqual([...idx].sort(), [...got].map(([c, l]) => [c, l.length]).sort(), 'no record more');
    // Which share is typed depends on what else ran (kmem and timer events go generic): per event, one way.
    assert.ok(typed > 0 && generic > 0, `${typed} typed, ${generic} generic`);
    assert.deepEqual([...typedKeys].filter((k) => genericKeys.has(k)), [], 'an event is always typed or always generic');
    for (const k of ['sched:sched_switch', 'sched:sched_waking', 'raw_syscalls:sys_enter']) assert.ok(typedKeys.has(k), `${k} typed`);
  });

  test('sched, task, print and syscall events in their typed messages; no field the format lacks', () => {
    const evs = pf.bundles.flatMap((b) => b.events);
    const of = (field: number) => evs.filter((e) => e.field === field).map((e) => e.payload);
    const switches = of(EV.schedSwitch);
    assert.ok(switches.length > 0 && switches.every((s) => str(one(s, SWITCH.prevComm)) !== undefined && one(s, SWITCH.prevState) && one(s, SWITCH.nextPid)));
    const wakings = of(EV.schedWaking);
    assert.ok(wakings.length > 0);
    assert.ok(wakings.every((w) => one(w, WAKING.pid) && one(w, WAKING.targetCpu) && !one(w, WAKING.success)), 'sched_waking has no success field on this kernel');
    const renames = of(EV.taskRename).filter((r) => str(one(r, RENAME.newcomm)) === RENAMED);
    assert.deepEqual(renames.map((r) => sint(one(r, RENAME.pid))), [renamedPid]);
    const threads = of(EV.taskNewtask).filter((n) => Number(one(n, NEWTASK.cloneFlags)!.int!) & CLONE_THREAD);
    assert.ok(threads.length > 0, 'node created threads');
    assert.deepEqual(of(EV.print).map((p) => str(one(p, PRINT.buf))), [`${MARKER}\n`]);
    assert.ok(of(EV.sysEnter).every((s) => all(s, SYS_ENTER.args).length === 6 && one(s, SYS_ENTER.id)));
    // signal_generate has errno on this kernel, which Perfetto's message lacks: generic, errno kept.
    const sig = evs.filter((e) => e.field === EV.generic).map((e) => genericFields(e.payload)).filter((g) => g.name === 'signal_generate');
    assert.ok(sig.length > 0 && sig.every((g) => g.fields.has('errno')));
  });

  test('the clock: local, with the ftrace/boot pair the importer needs on every bundle', () => {
    assert.equal(trace.clock, 'local');
    const withEvents = pf.bundles.filter((b) => b.events.length);
    assert.ok(withEvents.length > 0);
    for (const b of withEvents) {
      assert.equal(b.clock, FTRACE_CLOCK_LOCAL);
      assert.ok(b.ftraceTs !== undefined && b.ftraceTs === b.bootTs, 'a (ftrace, boot) timestamp pair');
    }
    assert.equal(new Set(pf.bundles.map((b) => b.seq)).size, 1, 'all bundles on one sequence, which the pair is scoped to');
  });

  test('SystemInfo first, with this kernel\'s uname', () => {
    assert.equal(pf.order[0], 45);
    assert.deepEqual({ sysname: pf.utsname?.sysname, release: pf.utsname?.release, machine: pf.utsname?.machine }, { sysname: 'Linux', release: release(), machine: machine() });
  });

  test('uname texts of lkst record, /proc/version, trace-cmd and crash recovery', () => {
    assert.deepEqual(parseUname('Linux vm 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0 x86_64 GNU/Linux'), { sysname: 'Linux', release: '6.18.44-fc-v1272', version: '#1 SMP PREEMPT_DYNAMIC @0', machine: 'x86_64' });
    assert.deepEqual(parseUname('Linux version 6.18.44 (root@b) (gcc 13) #1 SMP'), { sysname: 'Linux', release: '6.18.44' });
    assert.deepEqual(parseUname('Linux host 6.1.0-18-amd64 x86_64'), { sysname: 'Linux', release: '6.1.0-18-amd64', machine: 'x86_64' });
    assert.deepEqual(parseUname('Linux 6.18.44'), { sysname: 'Linux', release: '6.18.44' });
    assert.equal(parseUname('garbage'), undefined);
  });

  test('process tree: threads with the tgid the trace shows, processes with their parent, each stated while alive', () => {
    const threads = pf.trees.flatMap((t) => t.threads);
    const procs = pf.trees.flatMap((t) => t.processes);
    assert.ok(threads.every((t) => t.tgid !== undefined && t.tgid > 0 && t.tid > 0), 'no thread without a known tgid');
    assert.ok(procs.every((p) => p.ppid !== undefined && p.ppid > 0 && p.cmdlineIsComm));
    const byTid = new Map(threads.map((t) => [t.tid, t]));
    // The shell became sleep by exec: its own group, named as it ended.
    assert.deepEqual(byTid.get(shellPid), { tid: shellPid, tgid: shellPid, name: 'sleep' });
    // node: a process of the shell (task_newtask without CLONE_THREAD), with threads of its own.
    assert.deepEqual(procs.find((p) => p.pid === nodePid), { pid: nodePid, ppid: shellPid, cmdline: ['node'], cmdlineIsComm: true });
    assert.ok(threads.filter((t) => t.tgid === nodePid && t.tid !== nodePid).length > 0, 'node\'s threads under it');
    assert.deepEqual(procs.find((p) => p.pid === renamedPid), { pid: renamedPid, ppid: shellPid, cmdline: [RENAMED], cmdlineIsComm: true });
    // Each task is stated no earlier than its first event in the trace.
    const firstSeen = new Map<number, number>();
    forEachEvent(trace, { event: (ev) => void (!firstSeen.has(ev.pid) && firstSeen.set(ev.pid, ev.ts)) });
    for (const t of pf.trees) for (const th of t.threads) if (firstSeen.has(th.tid)) assert.ok(t.ts! >= firstSeen.get(th.tid)!, `task ${th.tid}`);
  });
});

describe('Perfetto export of a trace whose CPUs lost data', () => {
  test('lost_events on the bundle after each loss; a CPU whose data begin after a loss says from when they are valid', async (t0) => {
    // The wrapped trace always loses (overwrite mode, read at the end); a storm into 8 KiB read while
    // it runs loses on a busy machine, but a reader that keeps up on a quiet one loses nothing.
    const makes = [
      { name: 'wrapped', mustLose: true, make: () => recordWrappedTrace() },
      { name: 'storm into 8 KiB', mustLose: false, make: () => recordTrace(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=100000', 'status=none'], ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'], { bufferKb: 8 }) },
    ];
    for (const { name, mustLose, make } of makes) {
      const rec = await make();
      const t = openTrace(rec.path);
      try {
        // The first record of each CPU after a loss, and the CPUs whose first record follows one.
        const after = new Set<string>();
        const pending = new Set<number>();
        const started = new Set<number>();
        const lostAtStart = new Map<number, number>();
        forEachEvent(t, {
          lost: (cpu) => void pending.add(cpu),
          event: (ev) => {
            if (pending.delete(ev.cpu)) {
              after.add(`${ev.cpu}@${ev.ts}`);
              if (!started.has(ev.cpu)) lostAtStart.set(ev.cpu, ev.ts);
            }
            started.add(ev.cpu);
          },
        });
        if (!after.size && !mustLose) {
          t0.diagnostic(`${name}: the reader kept up, nothing lost; checked on the wrapped trace only`);
          continue;
        }
        assert.ok(after.size > 0, `${name}: the trace lost data`);
        const path = join(rec.dir, 't.perfetto');
        withSink(path, (s) => exportPerfetto(t, s));
        const pf = readPerfetto(path);
        const flagged = pf.bundles.filter((b) => b.lost && b.events.length).map((b) => `${b.cpu}@${b.events[0]!.ts}`);
        assert.deepEqual(new Set(flagged), after);
        const firstBundle = new Map<number, number | undefined>();
        for (const b of pf.bundles) if (b.events.length && !firstBundle.has(b.cpu)) firstBundle.set(b.cpu, b.prevEnd);
        for (const [cpu, ts] of lostAtStart) assert.equal(firstBundle.get(cpu), ts, `cpu ${cpu}'s data are valid from its first record`);
        assert.ok(pf.bundles.every((b) => b.prevEnd === undefined || lostAtStart.get(b.cpu) === b.prevEnd));
      } finally {
        t.close();
        rec.cleanup();
      }
    }
  });
});
