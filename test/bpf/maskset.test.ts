// BPF handlers in maskset lines through `lkst record`: `count` tables kept in the trace and shown
// live by `lkst status`, `record engine=bpf` records in the trace's buffer bpf, loss exact.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, isOneLineError, lkst } from '../helpers/cli.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import type { CountsReport } from '../../src/bpf/counts.js';

const skip = tracepointBpfSkip();
const COPIES = 5000;

function setup(masksets: Record<string, string>): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpfm-'));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  for (const [name, text] of Object.entries(masksets)) writeFileSync(join(dir, 'etc', 'masksets', `${name}.maskset`), text);
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') } };
}

const MASKSET = ['raw_syscalls:sys_enter count by=pid,id', 'raw_syscalls:sys_exit count by=pid hist=ret', 'sched:sched_process_exec record engine=bpf', 'sched:sched_process_exit record', ''].join('\n');

/** A shell that writes its pid and execs dd (same pid): dd's reads and writes of one byte; then what follows. */
function ddCommand(pidFile: string, after = ''): string[] {
  const dd = `sh -c 'echo $$ > ${pidFile}; exec dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null'`;
  return ['sh', '-c', after ? `${dd}; ${after}` : dd];
}

test('lkst record -m with count and record engine=bpf: counts stored in the trace, BPF records beside ftrace\'s, nothing lost', { skip }, () => {
  const { dir, env } = setup({ b: MASKSET });
  try {
    const file = join(dir, 'b.dat');
    const r = lkst(['record', '-m', 'b', '-o', file, '--', ...ddCommand(join(dir, 'pid'))], { env, timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /BPF records: \d+ in buffer bpf, none lost/);
    const dd = Number(readFileSync(join(dir, 'pid'), 'utf8'));

    // The counts, as the trace keeps them.
    const st = JSON.parse(lkst(['stats', '--json', file], { env }).stdout) as { counts: CountsReport; lostTotal: number; lostExact: boolean; buffers: { buffer: string; events: number }[] };
    assert.deepEqual([st.lostTotal, st.lostExact], [0, true]);
    assert.equal(st.counts.nokey, 0);
    const enter = st.counts.tables.find((t) => t.event === 'raw_syscalls:sys_enter')!;
    assert.deepEqual(enter.by, ['pid', 'id']);
    const of = (id: number) => enter.rows.find((x) => x.values[0] === String(dd) && x.values[1] === String(id))?.count ?? 0;
    // dd reads /dev/zero and writes /dev/null COPIES times, and a few files as it starts.
    for (const id of [0, 1]) assert.ok(of(id) >= COPIES && of(id) < COPIES + 50, `dd's syscall ${id} counted ${of(id)} times`);
    const exit = st.counts.tables.find((t) => t.event === 'raw_syscalls:sys_exit')!;
    const row = exit.rows.find((x) => x.values[0] === String(dd))!;
    assert.equal(
      row.hist!.reduce((n, h) => n + h.count, 0),
      row.count,
      'the histogram holds every count of the key',
    );
    assert.ok(row.hist!.find((h) => h.low === '1' && h.high === '2')!.count >= 2 * COPIES, 'each read and write of one byte returned 1');

    // The BPF record of dd's exec, beside ftrace's record of its exit, both printed by trace-cmd.
    assert.ok(st.buffers.some((b) => b.buffer === 'bpf' && b.events > 0), 'the buffer bpf is in the trace');
    const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(tc.status, 0, tc.stderr);
    assert.match(tc.stdout, new RegExp(`^bpf:.*-${dd}\\s+\\[\\d+\\].*sched_process_exec:.* pid=${dd} `, 'm'));
    assert.match(tc.stdout, new RegExp(`-${dd}\\s+\\[\\d+\\].*sched_process_exit:.* pid=${dd} `));
    const text = lkst(['stats', file], { env }).stdout;
    assert.match(text, new RegExp(`pid=${dd} id=0  [\\d,]+`), 'lkst stats prints one line per key');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst status shows a running recording\'s count table live, one line per key', { skip }, async () => {
  const { dir, env } = setup({ b: MASKSET });
  try {
    const file = join(dir, 'b.dat');
    const child = spawn(process.execPath, [CLI, 'record', '-q', '-m', 'b', '-o', file, '--', ...ddCommand(join(dir, 'pid'), `while [ ! -e ${join(dir, 'go')} ]; do sleep 0.2; done`)], { env, stdio: 'ignore' });
    const exited = once(child, 'exit');
    let seen = '';
    let reads = 0;
    try {
      // The recording goes on until the test has seen dd's whole count (the runner rewrites the table every second).
      for (let i = 0; i < 100 && reads < COPIES; i++) {
        await sleep(200);
        seen = lkst(['status'], { env }).stdout;
        const dd = Number(readFileSync(join(dir, 'pid'), { encoding: 'utf8', flag: 'a+' }));
        const m = dd ? new RegExp(`^ +pid=${dd} id=0  ([\\d,]+)$`, 'm').exec(seen) : null;
        reads = m ? Number(m[1]!.replace(/,/g, '')) : 0;
      }
    } finally {
      writeFileSync(join(dir, 'go'), '');
    }
    const [code] = await exited;
    assert.equal(code, 0);
    assert.match(seen, /counts \(BPF, live, updated every second\) of the recording in lkst-/);
    assert.ok(reads >= COPIES && reads < COPIES + 50, `status showed dd's ${reads} reads, one line for the key:\n${seen}`);
    assert.equal(lkst(['status'], { env }).stdout.includes('counts (BPF'), false, 'the table goes with the recording');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BPF handler entries: bad keys, -P and --clock are refused in one line naming the maskset line', { skip }, () => {
  const { dir, env } = setup({ comm: 'sched:sched_process_exec count by=filename\n', nosuch: 'raw_syscalls:sys_enter count by=nosuch\n', ok: MASKSET });
  try {
    const out = join(dir, 'x.dat');
    const cases: [string[], RegExp][] = [
      [['-m', 'comm'], /comm\.maskset:1 .*field 'filename' is not a number/],
      [['-m', 'nosuch'], /nosuch\.maskset:1 .*has no field 'nosuch'/],
      [['-m', 'ok', '-P', String(process.pid)], /handlers on BPF see every process/],
      [['-m', 'ok', '--clock', 'local'], /mono clock/],
    ];
    for (const [args, re] of cases) {
      const r = lkst(['record', ...args, '-o', out, '--', 'true'], { env });
      assert.ok(isOneLineError(r), `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.ok(isOneLineError(lkst(['stream', '-m', 'ok', '--', 'true'], { env })), 'lkst stream refuses BPF handlers in one line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the BPF engine (LKST_NO_BPF), record engine=bpf records on ftrace, said in one line; count is refused naming why', () => {
  const { dir, env: base } = setup({ rec: 'sched:sched_process_exec record engine=bpf\n', cnt: MASKSET });
  const env = { ...base, LKST_NO_BPF: '1' };
  try {
    const file = join(dir, 'r.dat');
    const r = lkst(['record', '-m', 'rec', '-o', file, '--', 'sh', '-c', 'exec true'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^lkst: the BPF engine is unavailable \(LKST_NO_BPF is set\): 1 engine=bpf entries \(record, pid, filter\) run on ftrace instead$/m);
    const st = JSON.parse(lkst(['stats', '--json', file], { env }).stdout) as { byEvent: { event: string; count: number }[]; buffers: { buffer: string }[] };
    assert.ok((st.byEvent.find((e) => e.event === 'sched:sched_process_exec')?.count ?? 0) >= 1, 'the exec is recorded (on ftrace)');
    assert.ok(!st.buffers.some((b) => b.buffer === 'bpf'), 'no buffer bpf');
    const c = lkst(['record', '-m', 'cnt', '-o', file, '--', 'true'], { env });
    assert.ok(isOneLineError(c), c.stderr);
    assert.match(c.stderr, /cnt\.maskset:1 .*count runs only on BPF, which is unavailable here \(LKST_NO_BPF is set\)/);
    // pid and filter with engine=bpf mean the same on ftrace; route exists only on BPF.
    writeFileSync(join(dir, 'etc', 'masksets', 'pf.maskset'), `sched:sched_process_exec filter expr="pid > 0" engine=bpf\nsched:sched_process_exit pid pids=${process.pid} engine=bpf\n`);
    const pf = lkst(['record', '-m', 'pf', '-o', file, '--', 'sh', '-c', 'exec true'], { env });
    assert.equal(pf.status, 0, pf.stderr);
    assert.match(pf.stderr, /2 engine=bpf entries \(record, pid, filter\) run on ftrace instead/);
    writeFileSync(join(dir, 'etc', 'masksets', 'rt.maskset'), 'sched:sched_process_exec route buffer=x pids=1\n');
    const rt = lkst(['record', '-m', 'rt', '-o', file, '--', 'true'], { env });
    assert.ok(isOneLineError(rt), rt.stderr);
    assert.match(rt.stderr, /rt\.maskset:1 .*route runs only on BPF/);
    assert.match(lkst(['features'], { env }).stdout, /no {3}BPF handlers: LKST_NO_BPF is set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sample every=N and rate max=N on BPF: one dd read in N recorded, and at most N per CPU per second', { skip }, () => {
  const { dir, env } = setup({
    sampled: 'syscalls:sys_enter_read sample every=100\n',
    limited: 'syscalls:sys_enter_write rate max=50\n',
  });
  try {
    const readsOf = (maskset: string, event: string): { pid: number; recorded: number; all: number; perCpuSecond: Map<string, number> } => {
      const file = join(dir, `${maskset}.dat`);
      const r = lkst(['record', '-q', '-m', maskset, '-o', file, '--', ...ddCommand(join(dir, 'pid'))], { env, timeoutMs: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(tc.status, 0, tc.stderr);
      const lines = tc.stdout.split('\n').filter((l) => l.trimStart().startsWith('bpf:') && l.includes(`${event}:`));
      // The BPF stamps are the mono clock, whose whole seconds are the rate's seconds.
      const perCpuSecond = new Map<string, number>();
      for (const l of lines) {
        const m = /\[(\d+)\]\s+(\d+)\.\d+:/.exec(l)!;
        perCpuSecond.set(`${m[1]} ${m[2]}`, (perCpuSecond.get(`${m[1]} ${m[2]}`) ?? 0) + 1);
      }
      return { pid, recorded: lines.filter((l) => l.includes(`-${pid} `)).length, all: lines.length, perCpuSecond };
    };
    // dd's reads of one CPU at a time: every 100th of all reads on that CPU, so about COPIES/100 of dd's.
    const s = readsOf('sampled', 'sys_enter_read');
    assert.ok(s.recorded > 0 && s.recorded <= COPIES / 100 + 2, `sample every=100 recorded ${s.recorded} of dd's ${COPIES}+ reads`);
    const l = readsOf('limited', 'sys_enter_write');
    // The budget is per CPU, shared by every writer: on a busy machine others' writes may take all of
    // dd's seconds (a run beside other work recorded none of dd's), so the rate is checked on all.
    assert.ok(l.all > 0 && l.recorded < COPIES, `rate max=50 recorded ${l.all} writes, ${l.recorded} of dd's ${COPIES}`);
    const most = Math.max(...l.perCpuSecond.values());
    assert.equal(most, 50, `at most 50 writes recorded per CPU and second, and dd's storm reached it (${JSON.stringify([...l.perCpuSecond])})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
