// A BPF C handler that routes and switches: lkst_route(c, mine) sends its events into the trace's
// buffer mine, and lkst_switch(c, s_after) makes maskset s-after the one in force in the kernel at
// the at-th event, after which s-after's count handler takes the same process's events.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { countsByPid, recordBeside, recordsByPid, runToEnd, stopped, syscallsOf } from '../helpers/bpf-live.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { withInstance } from '../helpers/instance.js';

const skip = tracepointBpfSkip();
const EXAMPLE = fileURLToPath(new URL('../../../examples/handlers/switch-route.bpf.c', import.meta.url));
const COPIES = 2000;
const AT = 1000;

test('lkst_route and lkst_switch in a BPF C handler: dd\'s first AT events in buffer mine, the rest counted by the maskset it switched to, exactly what ftrace saw', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-userswitch-'));
  const dd = await stopped(`exec dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null`);
  try {
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'masksets'), { recursive: true });
    const env = { ...process.env, LKST_CONFIG_DIR: etc, LKST_STATE_DIR: join(dir, 'run') };
    const add = lkst(['handler', 'add', 'switch-route', EXAMPLE], { env });
    assert.equal(add.status, 0, add.stderr);
    writeFileSync(join(etc, 'masksets', 's-before.maskset'), `raw_syscalls:sys_enter switch-route pid=${dd.pid} at=${AT}\n`);
    writeFileSync(join(etc, 'masksets', 's-after.maskset'), 'raw_syscalls:sys_enter count by=pid\n');
    const file = join(dir, 's.dat');
    await withInstance('userswitch', async (inst) => {
      const trace = await recordBeside(inst, `common_pid == ${dd.pid}`, { dir, env, maskset: 's-before', file }, () => runToEnd(dd));
      const seen = syscallsOf(trace, dd.pid);
      assert.ok(seen > AT, `ftrace saw ${seen} syscalls of dd`);
      const routed = recordsByPid(file, 'mine', 'sys_enter').get(dd.pid) ?? 0;
      const { counts, lost } = countsByPid(file, env, 'raw_syscalls:sys_enter');
      const after = counts.get(dd.pid) ?? 0;
      t.diagnostic(`ftrace saw ${seen}; routed into mine ${routed}, counted after the switch ${after}, lost ${lost}`);
      assert.equal(routed + after + lost, seen, 'routed + counted + lost = what ftrace saw');
      if (!lost) assert.deepEqual([routed, after], [AT, seen - AT], 'the switch came at the AT-th event');
      assert.equal(recordsByPid(file, 'bpf', 'sys_enter').get(dd.pid) ?? 0, 0, 'nothing of dd in the buffer bpf');
    });
  } finally {
    dd.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst_switch naming no maskset: the recording is refused in one line naming the maskset line and the name', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-userswitch-'));
  try {
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'masksets'), { recursive: true });
    const env = { ...process.env, LKST_CONFIG_DIR: etc, LKST_STATE_DIR: join(dir, 'run') };
    writeFileSync(join(dir, 'nowhere.bpf.c'), readFileSync(EXAMPLE, 'utf8').replace('lkst_switch(c, s_after)', 'lkst_switch(c, no_such_set)'));
    const add = lkst(['handler', 'add', 'nowhere', join(dir, 'nowhere.bpf.c')], { env });
    assert.equal(add.status, 0, add.stderr);
    writeFileSync(join(etc, 'masksets', 'n.maskset'), 'raw_syscalls:sys_enter nowhere pid=1 at=1\n');
    const r = lkst(['record', '-m', 'n', '-o', join(dir, 'n.dat'), '--', 'true'], { env });
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /n\.maskset:1 .*lkst_switch\(c, no_such_set\) in handler nowhere names no maskset \(no_such_set or no-such-set\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
