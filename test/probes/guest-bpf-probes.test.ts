// kprobes and kretprobes on the BPF engine, in a Debian 6.12 guest (this host has no kprobes): a
// program makes getppid() N times under a maskset whose kprobe lines run on BPF, then under the
// same lines on ftrace; the program's records number N on each probe, and their lines (from the
// event name on: the probe's and return addresses; the result, getppid's, is the recorder's pid:
// one value per run) are those of the ftrace recording. One boot for both.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { guestUnavailable, runInGuest } from '../../scripts/guest/guest.js';
import { nativeHelper } from '../../src/bench/native.js';
import { nativeCacheDir } from '../../src/native/compile.js';
import { CLI, lkst } from '../helpers/cli.js';

const N = 300;
const LINES = ['kprobe:__x64_sys_getppid', 'kretprobe:__x64_sys_getppid'];

const GUEST_SCRIPT = `
L="node ${CLI}"
S=$LKST_GUEST_SHARED
export LKST_CONFIG_DIR=$S/cfg LKST_CACHE_DIR=$S/cache
for m in bpf ftrace; do
  $L record -q -m $m -o $S/$m.dat -- $S/calls ${N} > $S/$m.out 2> $S/$m.err
  echo "$m $?" >> $S/rcs
done
`;

test('kprobe and kretprobe lines with record engine=bpf in a Debian 6.12 guest: N records each, the lines of the ftrace engine', { skip: guestUnavailable() ?? false, timeout: 1_800_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-guest-bpf-probes-'));
  try {
    copyFileSync(nativeHelper('syscall-loop'), join(dir, 'calls'));
    mkdirSync(join(dir, 'cfg', 'masksets'), { recursive: true });
    // sched_process_exec on ftrace names the program's pid for the BPF records too.
    const exec = 'sched:sched_process_exec record\n';
    writeFileSync(join(dir, 'cfg', 'masksets', 'bpf.maskset'), exec + LINES.map((l) => `${l} record engine=bpf\n`).join(''));
    writeFileSync(join(dir, 'cfg', 'masksets', 'ftrace.maskset'), exec + LINES.map((l) => `${l} record\n`).join(''));
    // The host's native helpers (same binaries): the guest's tmpfs cache would build them again under TCG.
    const bin = join(nativeCacheDir(), 'bin');
    if (existsSync(bin)) cpSync(bin, join(dir, 'cache', 'bin'), { recursive: true });
    const r = await runInGuest({ script: GUEST_SCRIPT, shared: dir, memMiB: 1024, timeoutMs: 1_500_000, oneTcgThread: true });
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    assert.equal(r.code, 0, `${r.stderr}\n${r.serial.slice(-2000)}`);
    assert.equal(read('rcs'), 'bpf 0\nftrace 0\n', `${read('bpf.err')}\n${read('ftrace.err')}`);
    const lines = (name: string) => {
      const out = lkst(['report', join(dir, `${name}.dat`)], { timeoutMs: 120_000 });
      assert.equal(out.status, 0, out.stderr);
      return out.stdout
        .split('\n')
        .map((l) => /\scalls-\d+\s.*?\s(__x64_sys_getppid\w*:.*)$/.exec(l)?.[1])
        .filter((l): l is string => l !== undefined);
    };
    // getppid() returns the recorder's pid, another in each run: the same in every call of a run.
    const parent = (ls: string[]) => {
      const rets = new Set(ls.map((l) => / ret=(\d+)$/.exec(l)?.[1]).filter((x) => x !== undefined));
      assert.equal(rets.size, 1, [...rets].join(' '));
      return ls.map((l) => l.replace(/ ret=\d+$/, ' ret=PARENT'));
    };
    const bpf = parent(lines('bpf'));
    const ftrace = parent(lines('ftrace'));
    assert.equal(bpf.filter((l) => l.startsWith('__x64_sys_getppid: ')).length, N, 'kprobe on BPF: one record per call');
    assert.equal(bpf.filter((l) => l.startsWith('__x64_sys_getppid_ret: ')).length, N, 'kretprobe on BPF: one record per return');
    assert.deepEqual(bpf, ftrace, "the program's lines as the ftrace engine records them");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
