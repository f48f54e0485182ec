// Handlers on BPF whose pid set lives in a map: `pid engine=bpf` changed by `lkst handler set` while
// recording, and `route` sending a process family's events into its own buffer of the trace.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, isOneLineError, lkst } from '../helpers/cli.js';
import { countsByPid, recording, recordsByPid, stopped } from '../helpers/bpf-live.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { createBuffer } from '../../src/buffers/buffer.js';
import { withBufferNames } from '../buffers/helpers.js';
import { readRecords } from '../masksets/kernel.js';

const skip = tracepointBpfSkip();
const COPIES = 3000;

function setup(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpflive-'));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') } };
}

const DD = `exec dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null`;

test('lkst handler set on a running recording\'s pid engine=bpf: one map write, A\'s reads recorded before, only B\'s after, counts exact', { skip }, async () => {
  const { dir, env } = setup();
  const a = await stopped(DD);
  const b = await stopped(DD);
  try {
    writeFileSync(join(dir, 'etc', 'masksets', 'p.maskset'), `syscalls:sys_enter_read pid pids=${a.pid} engine=bpf\nsyscalls:sys_exit_read count by=pid\n`);
    const file = join(dir, 't.dat');
    const { done } = await recording(dir, env, 'p', file);
    try {
      a.child.kill('SIGCONT');
      await a.exited;
      const set = lkst(['handler', 'set', 'syscalls:sys_enter_read', 'pid', `pids=${b.pid}`, 'engine=bpf'], { env });
      assert.equal(set.status, 0, set.stderr);
      assert.match(set.stdout, new RegExp(`^syscalls:sys_enter_read: pid set now ${b.pid} \\(one map update in [\\d.]+ us\\)$`, 'm'));
      const refused = lkst(['handler', 'set', 'syscalls:sys_enter_read', 'filter', 'expr=fd == 0', 'engine=bpf'], { env });
      assert.ok(isOneLineError(refused), refused.stderr);
      assert.match(refused.stderr, /change only their pid sets live/);
      b.child.kill('SIGCONT');
      await b.exited;
    } finally {
      writeFileSync(join(dir, 'go'), '');
    }
    await done;
    const recs = recordsByPid(file, 'bpf', 'sys_enter_read');
    const { counts, lost } = countsByPid(file, env, 'syscalls:sys_exit_read');
    const [ra, rb, ca, cb] = [recs.get(a.pid) ?? 0, recs.get(b.pid) ?? 0, counts.get(a.pid) ?? 0, counts.get(b.pid) ?? 0];
    assert.ok(ca >= COPIES && cb >= COPIES, `each dd read ${COPIES} times or more (${ca}, ${cb})`);
    assert.equal(ra + rb + lost, ca + cb, `A's and B's reads recorded (${ra}, ${rb}) plus lost (${lost}) = counted (${ca}, ${cb})`);
    if (!lost) assert.deepEqual([ra, rb], [ca, cb]);
    assert.deepEqual([...recs.keys()].filter((p) => p !== a.pid && p !== b.pid), [], 'no other process recorded');
  } finally {
    for (const p of [a, b]) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('route buffer=NAME pids= follow=true: the family\'s reads (children forked while recording) in their own buffer, no one else\'s, counts exact', { skip }, async () => {
  const { dir, env } = setup();
  const child = (n: string) => `sh -c 'echo $$ > ${join(dir, n)}; ${DD}'`;
  const fam = await stopped(`${child('c1')}; ${child('c2')}`);
  const other = await stopped(DD);
  try {
    writeFileSync(join(dir, 'etc', 'masksets', 'r.maskset'), `syscalls:sys_enter_read route buffer=fam pids=${fam.pid} follow=true\nsyscalls:sys_exit_read count by=pid\n`);
    const file = join(dir, 't.dat');
    const { done } = await recording(dir, env, 'r', file);
    try {
      fam.child.kill('SIGCONT');
      other.child.kill('SIGCONT');
      await Promise.all([fam.exited, other.exited]);
      // The route's pid set changes live too (to init, which reads nothing here).
      const set = lkst(['handler', 'set', 'syscalls:sys_enter_read', 'route', 'buffer=fam', 'pids=1'], { env });
      assert.equal(set.status, 0, set.stderr);
      assert.match(set.stdout, /^syscalls:sys_enter_read: route to fam now 1 \(one map update in [\d.]+ us\)$/m);
    } finally {
      writeFileSync(join(dir, 'go'), '');
    }
    await done;
    const family = [fam.pid, ...['c1', 'c2'].map((n) => Number(readFileSync(join(dir, n), 'utf8')))];
    const recs = recordsByPid(file, 'fam', 'sys_enter_read');
    const { counts, lost } = countsByPid(file, env, 'syscalls:sys_exit_read');
    const sum = (m: Map<number, number>) => family.reduce((n, p) => n + (m.get(p) ?? 0), 0);
    for (const p of family.slice(1)) assert.ok((counts.get(p) ?? 0) >= COPIES, `child ${p} read ${COPIES} times or more`);
    assert.equal(sum(recs) + lost, sum(counts), `the family's reads in buffer fam (${sum(recs)}) plus lost (${lost}) = counted (${sum(counts)})`);
    if (!lost) for (const p of family) assert.equal(recs.get(p) ?? 0, counts.get(p) ?? 0, `pid ${p}: every read in fam`);
    assert.deepEqual([...recs.keys()].filter((p) => !family.includes(p)), [], 'no one outside the family in fam');
    assert.ok((counts.get(other.pid) ?? 0) >= COPIES, 'the other dd read as much, and was not routed');
    assert.ok(!spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout.split('\n').some((l) => l.trimStart().startsWith('bpf:')), 'no buffer bpf: nothing records outside the route');
  } finally {
    for (const p of [fam, other]) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alert if= with lkst watch --exec: one line and one command per matching event; freeze=bpf record=true ends the buffer bpf at the alert\'s event', { skip }, async () => {
  const { dir, env } = setup();
  const WRITES = 5;
  const dd = await stopped(`exec dd if=/dev/zero of=/dev/null bs=7777 count=${WRITES} 2>/dev/null`);
  const out = join(dir, 'exec.out');
  const watch = spawn(process.execPath, [CLI, 'watch', '-n', String(WRITES), '--wait', '120', '--exec', `echo "$LKST_EVENT $LKST_PID $LKST_F_count" >> ${out}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  let werr = '';
  watch.stdout!.setEncoding('utf8').on('data', (d: string) => (printed += d));
  watch.stderr!.setEncoding('utf8').on('data', (d: string) => (werr += d));
  const watched = once(watch, 'exit');
  try {
    writeFileSync(
      join(dir, 'etc', 'masksets', 'a.maskset'),
      `syscalls:sys_enter_read pid pids=${dd.pid} engine=bpf\nsyscalls:sys_enter_write alert if="count == 7777 && common_pid == ${dd.pid}" freeze=bpf record=true\n`,
    );
    const file = join(dir, 't.dat');
    const { done } = await recording(dir, env, 'a', file);
    try {
      dd.child.kill('SIGCONT');
      await dd.exited;
      const [code] = await watched;
      assert.equal(code, 0, werr);
    } finally {
      writeFileSync(join(dir, 'go'), '');
    }
    await done;
    const lines = printed.trim().split('\n');
    assert.equal(lines.length, WRITES, printed);
    for (const l of lines) assert.match(l, new RegExp(`^\\d+\\.\\d{6} \\[\\d{3}\\] syscalls:sys_enter_write pid=${dd.pid} __syscall_nr=1 fd=1 buf=\\d+ count=7777$`));
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), Array(WRITES).fill(`syscalls:sys_enter_write ${dd.pid} 7777`));
    // The buffer bpf: dd's reads up to its first write of 7777 bytes, that write last; nothing after the freeze.
    const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const bpf = tc.stdout.split('\n').filter((l) => l.trimStart().startsWith('bpf:'));
    assert.match(bpf.at(-1) ?? '', new RegExp(`-${dd.pid}\\s+\\[\\d+\\].* sys_enter_write: .*count: 0x0*1e61`));
    assert.equal(bpf.filter((l) => l.includes('sys_enter_write')).length, 1, 'one write recorded: the alert\'s');
    assert.equal(bpf.filter((l) => / sys_enter_read:\s+fd: 0x0+,/.test(l)).length, 1, 'one read of /dev/zero recorded: the one before the alert');
  } finally {
    watch.kill('SIGKILL');
    dd.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('filter expr= engine=bpf: numbers, && || ( ) and a char array compared with a string record only what holds; other forms refused in one line', { skip }, () => {
  const { dir, env } = setup();
  try {
    const masksets = {
      f: 'syscalls:sys_enter_write filter expr="count == 7777 || (count == 4242 && fd == 1)" engine=bpf\nsched:sched_process_exit filter expr="comm == \\"lkstfx\\"" engine=bpf\n',
      glob: 'sched:sched_process_exit filter expr="comm ~ \\"lkst*\\"" engine=bpf\n',
      ptr: 'syscalls:sys_enter_write filter expr="buf == \\"x\\"" engine=bpf\n',
    };
    for (const [n, t] of Object.entries(masksets)) writeFileSync(join(dir, 'etc', 'masksets', `${n}.maskset`), t);
    spawnSync('cp', ['/bin/true', join(dir, 'lkstfx')]);
    const file = join(dir, 't.dat');
    const script = `dd if=/dev/zero of=/dev/null bs=7777 count=3 2>/dev/null; dd if=/dev/zero of=/dev/null bs=4242 count=2 2>/dev/null; perl -e 'syswrite(STDERR, "x" x 4242)' 2>/dev/null; ${join(dir, 'lkstfx')}; ${join(dir, 'lkstfx')}`;
    const r = lkst(['record', '-q', '-m', 'f', '-o', file, '--', 'sh', '-c', script], { env, timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const bpf = tc.stdout.split('\n').filter((l) => l.trimStart().startsWith('bpf:'));
    const writes = bpf.filter((l) => l.includes(' sys_enter_write:')).map((l) => /fd: (0x[0-9a-f]+), .*count: (0x[0-9a-f]+)/.exec(l)!.slice(1).map(Number).join(' '));
    // The 4242-byte write to fd 2 (stderr) is left out by fd == 1.
    assert.deepEqual(writes, ['1 7777', '1 7777', '1 7777', '1 4242', '1 4242']);
    assert.equal(bpf.filter((l) => l.includes(' sched_process_exit:')).length, 2, 'the two exits of lkstfx, no other');
    assert.ok(bpf.filter((l) => l.includes(' sched_process_exit:')).every((l) => l.includes('comm=lkstfx')));
    for (const [m, re] of [['glob', /'~' is not part of the simple form/], ['ptr', /buf is not a fixed char array/]] as const) {
      const bad = lkst(['record', '-q', '-m', m, '-o', file, '--', 'true'], { env });
      assert.ok(isOneLineError(bad), bad.stderr);
      assert.match(bad.stderr, new RegExp(`${m}\\.maskset:1 .*on BPF: .*${re.source}`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alert stop=BUFFER: the ftrace flight recorder stops in the kernel at the alert\'s event, which is its last of that process', { skip }, async () => {
  const { dir, env } = setup();
  const dd = await stopped('exec dd if=/dev/zero of=/dev/null bs=7777 count=4 2>/dev/null');
  try {
    await withBufferNames(['alst'], async (name) => {
      const fr = createBuffer(name!, { sizeKb: 256, overwrite: true });
      fr.setEventEnabled('syscalls', 'sys_enter_write', true);
      fr.setEventEnabled('syscalls', 'sys_enter_read', true);
      fr.tracingOn = true;
      const cond = `count == 7777 && common_pid == ${dd.pid}`;
      writeFileSync(join(dir, 'etc', 'masksets', 's.maskset'), `syscalls:sys_enter_write alert if="${cond}" stop=${name}\n`);
      const { done } = await recording(dir, env, 's', join(dir, 't.dat'));
      try {
        dd.child.kill('SIGCONT');
        await dd.exited;
      } finally {
        writeFileSync(join(dir, 'go'), '');
      }
      await done;
      assert.equal(fr.tracingOn, false, 'the buffer was stopped');
      const recs = readRecords(fr, ['syscalls:sys_enter_write']).filter((r) => r.pid === dd.pid);
      const last = recs.at(-1);
      assert.equal(last?.name, 'syscalls:sys_enter_write', 'the last event of dd in the buffer is a write');
      assert.equal(Number(last?.fields?.['count']), 7777, "the alert's write of 7777 bytes");
      assert.equal(recs.filter((r) => r.name === 'syscalls:sys_enter_write' && Number(r.fields?.['count']) === 7777).length, 1, 'no write of dd after it');
      assert.ok(recs.some((r) => r.name === 'syscalls:sys_enter_read'), 'what led up to it is kept');
    });
  } finally {
    dd.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst watch with no recording raising alerts: one line naming the cause and fix, non-zero exit', () => {
  const { dir, env } = setup();
  try {
    const r = lkst(['watch', '--wait', '0'], { env });
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /no recording with alert handlers runs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
