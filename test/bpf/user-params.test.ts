// A BPF C handler's parameters live in a map: `lkst handler set` on a running `lkst record -m`
// rewrites them at once and marks the change in the trace. per-pid-every's every= goes 7 -> 3 between
// two dd runs: the first dd's records are floor(n/7) of what ftrace saw of it, the second's floor(m/3).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lkst } from '../helpers/cli.js';
import { recordBeside, runToEnd, stopped, syscallsOf } from '../helpers/bpf-live.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { withInstance } from '../helpers/instance.js';

const skip = tracepointBpfSkip();
const EXAMPLE = fileURLToPath(new URL('../../../examples/handlers/per-pid-every.bpf.c', import.meta.url));
const COPIES = 3000;
const DD = `exec dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null`;

/** Seconds (as trace-cmd prints them) of each bpf record of a pid's read or write. */
function recordTimes(report: string, pid: number): number[] {
  const re = new RegExp(`^bpf:.*-${pid}\\s+\\[\\d+\\].*?(\\d+\\.\\d+): sys_enter:\\s+NR [01] `);
  return report.split('\n').flatMap((l) => {
    const m = re.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

test('lkst handler set on a running recording: a BPF C handler\'s every= changes 7 -> 3 in one map write, marked in the trace; each dd recorded exactly as its value says', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-userparams-'));
  const dds = [await stopped(DD), await stopped(DD)];
  try {
    mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
    const env = { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') };
    const add = lkst(['handler', 'add', 'per-pid-every', EXAMPLE], { env });
    assert.equal(add.status, 0, add.stderr);
    writeFileSync(join(dir, 'etc', 'masksets', 'u.maskset'), 'raw_syscalls:sys_enter per-pid-every every=7\n');
    const file = join(dir, 'u.dat');
    const pids = dds.map((d) => d.pid);
    await withInstance('userparams', async (inst) => {
      let said: ReturnType<typeof lkst> | undefined;
      const trace = await recordBeside(inst, `(id == 0 || id == 1) && (common_pid == ${pids[0]} || common_pid == ${pids[1]})`, { dir, env, maskset: 'u', file }, async () => {
        await runToEnd(dds[0]!);
        said = lkst(['handler', 'set', 'raw_syscalls:sys_enter', 'per-pid-every', 'every=3'], { env });
        await runToEnd(dds[1]!);
      });
      assert.equal(said?.status, 0, said?.stderr);
      assert.match(said!.stdout, /^raw_syscalls:sys_enter: per-pid-every every=3 \(one map update in [\d.]+ us\)$/m);
      const seen = pids.map((p) => syscallsOf(trace, p, '[01]'));
      for (const n of seen) assert.ok(n >= 2 * COPIES, `ftrace saw ${n} reads and writes of a dd`);
      const report = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(report.status, 0, report.stderr);
      const [first, second] = pids.map((p) => recordTimes(report.stdout, p));
      t.diagnostic(`${said!.stdout.trim()}; ftrace saw ${seen.join(' and ')}; recorded ${first!.length} (every 7th) and ${second!.length} (every 3rd)`);
      assert.equal(first!.length, Math.floor(seen[0]! / 7), `every 7th of the first dd's ${seen[0]}`);
      assert.equal(second!.length, Math.floor(seen[1]! / 3), `every 3rd of the second dd's ${seen[1]}`);
      // The marker names the change and when the map was written; the records fall on either side of it.
      const mark = /lkst: handler set raw_syscalls:sys_enter per-pid-every every=3 \(map written at mono (\d+)\.\.(\d+) ns\)/.exec(report.stdout);
      assert.ok(mark, 'the change is marked in the trace');
      const [from, to] = [Number(mark[1]) / 1e9, Number(mark[2]) / 1e9];
      assert.ok(first!.at(-1)! <= from && to <= second![0]!, `the first dd's records end before the write (${first!.at(-1)} <= ${from}), the second's start after it (${to} <= ${second![0]})`);
    });
  } finally {
    for (const d of dds) d.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
