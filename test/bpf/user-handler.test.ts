// User handlers in BPF C: `lkst handler add NAME FILE.bpf.c` checks the source in the kernel at once
// (a compiler or verifier error is one line naming file:line), and the handler runs in maskset lines
// like a built-in: its own map's counts equal what ftrace records of the same workload, and what it
// asks to record lands in the trace's buffer bpf.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { withInstance } from '../helpers/instance.js';
import { recordBeside, runToEnd, stopped, syscallsOf } from '../helpers/bpf-live.js';

const skip = tracepointBpfSkip();
const EXAMPLE = fileURLToPath(new URL('../../../examples/handlers/per-pid-every.bpf.c', import.meta.url));
const COPIES = 5000;
const EVERY = 7;

function setup(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-userbpf-'));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') } };
}

test('lkst handler add NAME FILE.bpf.c: a compiler error and a verifier error are one line naming file:line; nothing is registered', { skip }, () => {
  const { dir, env } = setup();
  try {
    const text = readFileSync(EXAMPLE, 'utf8');
    const line = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const cases = [
      { file: 'typo.bpf.c', src: text.replace('u64 id = lkst_field(c, id);', 'u64 id = lkst_field(c, id) + no_such_thing;'), at: line('u64 id = lkst_field'), why: /no_such_thing/ },
      { file: 'nullmap.bpf.c', src: text.replace('if (!n) {', 'if (pid == 1) return *n;\n  if (!n) {'), at: line('if (!n) {'), why: /verifier refused .*map_value_or_null/ },
    ];
    for (const c of cases) {
      writeFileSync(join(dir, c.file), c.src);
      const r = lkst(['handler', 'add', 'broken', join(dir, c.file)], { env });
      assert.ok(isOneLineError(r), `${c.file}: one line, got ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${c.file.replace('.', '\\.')}:${c.at}: `), `${c.file}: names the line`);
      assert.match(r.stderr, c.why);
    }
    assert.doesNotMatch(lkst(['handler', 'list'], { env }).stdout, /^broken /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a BPF C handler counting per pid in its own map and recording every Nth: its counts equal what ftrace records of the same dd', { skip }, async () => {
  const { dir, env } = setup();
  const proc = await stopped(`exec dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null`);
  try {
    const add = lkst(['handler', 'add', 'per-pid-every', EXAMPLE], { env });
    assert.equal(add.status, 0, add.stderr);
    assert.match(add.stdout, /registered handler per-pid-every \(BPF C, \d+ instructions/);
    assert.match(lkst(['handler', 'list'], { env }).stdout, /^per-pid-every .*\n {2}every=INT/m);
    writeFileSync(join(dir, 'etc', 'masksets', 'u.maskset'), `raw_syscalls:sys_enter per-pid-every every=${EVERY}\n`);
    const file = join(dir, 'u.dat');
    const dd = proc.pid;
    await withInstance('userbpf', async (inst) => {
      // dd, then the handler's map as the kernel holds it while the recording still runs.
      let dump = '';
      const trace = await recordBeside(inst, `(id == 0 || id == 1) && common_pid == ${dd}`, { dir, env, maskset: 'u', file }, async () => {
        await runToEnd(proc);
        dump = spawnSync('bpftool', ['map', 'dump', 'name', 'pid_rw_counts', '-j'], { encoding: 'utf8' }).stdout;
      });
      // Another map of this name may exist beside (a recording beside, or one the kernel frees
      // later): bpftool then prints [{id, name, elements: [...]}, ...] instead of the elements.
      // dd's pid is in one only.
      type Entry = { formatted?: { key: number; value: number }; elements?: Entry[] };
      const entries = (JSON.parse(dump) as Entry[]).flatMap((e) => e.elements ?? [e]);
      const map = entries.filter((e): e is Required<Pick<Entry, 'formatted'>> => e.formatted !== undefined);
      const counted = map.find((e) => e.formatted.key === dd)?.formatted.value;
      const ftrace = syscallsOf(trace, dd, '[01]');
      assert.ok(ftrace >= 2 * COPIES, `ftrace recorded ${ftrace} reads and writes of dd`);
      assert.equal(counted, ftrace, "the handler's map counts dd's reads and writes as ftrace recorded them");
      const report = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(report.status, 0, report.stderr);
      const recorded = report.stdout.split('\n').filter((l) => new RegExp(`^ *bpf:.*-${dd}\\s+\\[\\d+\\].*sys_enter:\\s+NR [01] `).test(l)).length;
      assert.equal(recorded, Math.floor(ftrace / EVERY), `every ${EVERY}th of dd's ${ftrace} recorded`);
    });
    assert.match(lkst(['handler', 'remove', 'per-pid-every'], { env }).stderr, /is used by maskset u/);
    rmSync(join(dir, 'etc', 'masksets', 'u.maskset'));
    assert.equal(lkst(['handler', 'remove', 'per-pid-every'], { env }).status, 0);
    assert.doesNotMatch(lkst(['handler', 'list'], { env }).stdout, /^per-pid-every /m);
  } finally {
    proc.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
