// Values a BPF C handler records as its own event (struct lkst_value_NAME, lkst_value): lkst writes
// the event's format into the trace.dat, so `lkst report` and `trace-cmd report` print the same
// named fields, and the values are what the workload did.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { recordBeside, runToEnd, stopped, syscallsOf } from '../helpers/bpf-live.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { withInstance } from '../helpers/instance.js';

const skip = tracepointBpfSkip();
const EXAMPLE = fileURLToPath(new URL('../../../examples/handlers/rw-values.bpf.c', import.meta.url));
const COPIES = 2000;

function setup(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-uservalues-'));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') } };
}

/** The fields of a pid's lkst_user:rw records as a report prints them ("pid=.. count=.. comm=.."). */
function values(report: string, pid: number): string[] {
  return report.split('\n').flatMap((l) => {
    const m = / rw:\s+(pid=(\d+) count=\d+ comm=\S*)\s*$/.exec(l);
    return m && Number(m[2]) === pid ? [m[1]!] : [];
  });
}

test('a BPF C handler recording (pid, count, comm) at each read and write of dd: lkst report and trace-cmd report print the same named fields, the counts 1..n of what ftrace saw', { skip }, async (t) => {
  const { dir, env } = setup();
  try {
    const add = lkst(['handler', 'add', 'rw-values', EXAMPLE], { env });
    assert.equal(add.status, 0, add.stderr);
    writeFileSync(join(dir, 'etc', 'masksets', 'v.maskset'), 'raw_syscalls:sys_enter rw-values\n');
    const file = join(dir, 'v.dat');
    const dd = await stopped(`exec dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null`);
    await withInstance('uservalues', async (inst) => {
      const trace = await recordBeside(inst, `(id == 0 || id == 1) && common_pid == ${dd.pid}`, { dir, env, maskset: 'v', file }, () => runToEnd(dd));
      const seen = syscallsOf(trace, dd.pid, '[01]');
      assert.ok(seen >= 2 * COPIES, `ftrace saw ${seen} reads and writes of dd`);
      const ours = lkst(['report', file], { env, maxBuffer: 1 << 28 });
      assert.equal(ours.status, 0, ours.stderr);
      const got = values(ours.stdout, dd.pid);
      t.diagnostic(`ftrace saw ${seen} reads and writes of dd; ${got.length} values recorded`);
      assert.deepEqual(got, Array.from({ length: seen }, (_, i) => `pid=${dd.pid} count=${i + 1} comm=dd`), 'one value per read and write of dd, counting 1..n');
      const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
      if (tc.error) return t.skip('trace-cmd is not installed');
      assert.equal(tc.status, 0, tc.stderr);
      assert.deepEqual(values(tc.stdout, dd.pid), got, 'trace-cmd prints the same fields by name from the format lkst wrote');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a value struct lkst cannot describe is refused at lkst handler add, in one line naming the file, line and field', { skip }, () => {
  const { dir, env } = setup();
  try {
    const text = readFileSync(EXAMPLE, 'utf8').replace('  u64 count;', '  u64 count;\n  float ratio;');
    writeFileSync(join(dir, 'bad.bpf.c'), text);
    const r = lkst(['handler', 'add', 'bad', join(dir, 'bad.bpf.c')], { env });
    assert.ok(isOneLineError(r), r.stderr);
    const at = text.split('\n').findIndex((l) => l.startsWith('struct lkst_value_rw')) + 1;
    assert.match(r.stderr, new RegExp(`bad\\.bpf\\.c:${at}: struct lkst_value_rw, field 'ratio': type 'float'`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
