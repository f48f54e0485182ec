// Probes with the BPF handler engine: a C program's function called N times with known arguments,
// recorded through a maskset whose uprobe lines run on BPF, gives N records with those arguments
// and N return records with its results, in the ftrace probe's format: lkst report and trace-cmd
// report print the same lines as for the ftrace engine's recording of the same run (ASLR off, so
// addresses agree too). count and sample on probes: counts equal the calls. A fetch the engine
// does not make is one line naming the maskset line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { probeProgram } from '../helpers/probe-program.js';

const CALLS = 400;
const WORDS = ['alpha', 'be', 'gamma-delta'];
const skip = !tracefs().has('uprobe_events') ? 'this kernel has no uprobe_events' : tracepointBpfSkip();

describe('probes on the BPF engine', { skip }, () => {
  const { dir, config, env, bin } = probeProgram('lkst-bpf-probe-', `#include <string.h>
static const char *words[] = { ${WORDS.map((w) => `"${w}"`).join(', ')} };
__attribute__((noinline)) long lkst_bpf_target(long a, int b, const char *s) { __asm__ volatile(""); return a * b + (long)strlen(s); }
__attribute__((noinline)) long lkst_bpf_other(long x) { __asm__ volatile(""); return x + 1; }
int main(void) {
  long t = 0;
  for (long i = 1; i <= ${CALLS}; i++) { t += lkst_bpf_target(i, (int)(i % 5) - 2, words[i % 3]); t += lkst_bpf_other(i); }
  return (int)(t & 1);
}
`);
  const expected = Array.from({ length: CALLS }, (_, k) => {
    const i = k + 1;
    const b = (i % 5) - 2;
    return { a: i, b, s: WORDS[i % 3]!, ret: i * b + WORDS[i % 3]!.length };
  });
  const maskset = (name: string, text: string) => writeFileSync(join(config, 'masksets', `${name}.maskset`), text);
  /** Records the program (ASLR off: the same addresses in every run; on CPU 0: sample counts per CPU) through a maskset. */
  const record = (name: string): string => {
    const out = join(dir, `${name}.dat`);
    const r = lkst(['record', '-q', '-m', name, '-o', out, '--', 'taskset', '-c', '0', 'setarch', '-R', bin], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(tracefs().read('uprobe_events'), /lkst_bpf_/, 'the probes are removed when the recording ends');
    return out;
  };
  /** The probes' lines of a report, from the event name on (the task's name and time differ between runs). */
  const probeLines = (text: string) =>
    text
      .split('\n')
      .map((l) => /\s(lkst_bpf_\w+:.*)$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
  const report = (file: string) => {
    const r = lkst(['report', file], { env });
    assert.equal(r.status, 0, r.stderr);
    return probeLines(r.stdout);
  };

  test('record engine=bpf on a uprobe and a uretprobe: N records each with the known arguments and results, reported as the ftrace engine reports them', () => {
    const lines = `uprobe:${bin}:lkst_bpf_target a=%di:s64 b=%si:s32 s=+0(%dx):string record`;
    const ret = `uretprobe:${bin}:lkst_bpf_target record`;
    maskset('onbpf', `${lines} engine=bpf\n${ret} engine=bpf\n`);
    maskset('onftrace', `${lines}\n${ret}\n`);
    const bpf = report(record('onbpf'));
    const entries = bpf.filter((l) => l.startsWith('lkst_bpf_target: '));
    const rets = bpf.filter((l) => l.startsWith('lkst_bpf_target_ret: '));
    assert.equal(entries.length, CALLS, 'one entry record per call');
    assert.equal(rets.length, CALLS, 'one return record per call');
    assert.deepEqual(
      entries.map((l) => /a=(-?\d+) b=(-?\d+) s="([^"]*)"$/.exec(l)!.slice(1)),
      expected.map((e) => [String(e.a), String(e.b), e.s]),
    );
    assert.deepEqual(
      rets.map((l) => Number(/ret=(-?\d+)$/.exec(l)![1])),
      expected.map((e) => e.ret),
    );
    assert.deepEqual(bpf, report(record('onftrace')), "the same lines as the ftrace engine's probes");
    const tc = spawnSync('trace-cmd', ['report', join(dir, 'onbpf.dat')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (tc.status === 0) assert.deepEqual(probeLines(tc.stdout), bpf, "trace-cmd report prints lkst's lines");
  });

  test('count by=ARG hist=ARG and by=pid on probes, sample every=N: counts equal the calls', () => {
    maskset(
      'counts',
      `uprobe:${bin}:lkst_bpf_target a=%di:s64 b=%si:s32 count by=b hist=a\nuretprobe:${bin}:lkst_bpf_target count by=pid\nuprobe:${bin}:lkst_bpf_other x=%di:s64 sample every=4\n`,
    );
    const file = record('counts');
    const st = lkst(['stats', file], { env });
    assert.equal(st.status, 0, st.stderr);
    const table = (event: string) => {
      const at = st.stdout.split('\n').findIndex((l) => l.startsWith(`lkst_`) && l.includes(`:${event} count`));
      assert.ok(at >= 0, st.stdout);
      const rows: { key: string; count: number; hist: string }[] = [];
      for (const l of st.stdout.split('\n').slice(at + 1)) {
        const m = /^ {2}(\S+) {2}([\d,]+)(?: {2}\w+: (.*))?$/.exec(l);
        if (!m) break;
        rows.push({ key: m[1]!, count: Number(m[2]!.replace(/,/g, '')), hist: m[3] ?? '' });
      }
      return rows;
    };
    const byB = new Map<string, number>();
    const buckets = new Map<string, number>();
    for (const r of table('lkst_bpf_target')) {
      byB.set(r.key, r.count);
      for (const [, range, n] of r.hist.matchAll(/(\[\d+,\d+\)) (\d+)/g)) buckets.set(range!, (buckets.get(range!) ?? 0) + Number(n));
    }
    const want = new Map<string, number>();
    const wantBuckets = new Map<string, number>();
    for (const e of expected) {
      want.set(`b=${e.b}`, (want.get(`b=${e.b}`) ?? 0) + 1);
      const k = Math.floor(Math.log2(e.a)) + 1;
      const range = `[${2 ** (k - 1)},${2 ** k})`;
      wantBuckets.set(range, (wantBuckets.get(range) ?? 0) + 1);
    }
    assert.deepEqual(new Map([...byB].sort()), new Map([...want].sort()), 'each b counted as often as it was passed');
    assert.deepEqual(new Map([...buckets].sort()), new Map([...wantBuckets].sort()), "a's log2 histogram over the calls");
    const pids = table('lkst_bpf_target_ret');
    assert.equal(pids.length, 1, 'one process');
    assert.equal(pids[0]!.count, CALLS, 'every return counted');
    const sampled = report(file).filter((l) => l.startsWith('lkst_bpf_other: '));
    assert.deepEqual(
      sampled.map((l) => Number(/x=(\d+)$/.exec(l)![1])),
      Array.from({ length: CALLS / 4 }, (_, k) => 4 * (k + 1)),
      'one call in 4 recorded (the program kept on one CPU: every=N counts per CPU)',
    );
  });

  test('a fetch the BPF engine does not make: one line naming the maskset line; no probe left', () => {
    maskset('nofetch', `uprobe:${bin}:lkst_bpf_target c=$comm record engine=bpf\n`);
    const r = lkst(['record', '-q', '-m', 'nofetch', '-o', join(dir, 'x.dat'), '--', bin], { env });
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /nofetch\.maskset:1 .*the BPF engine cannot fetch c=\$comm in a uprobe/);
    assert.doesNotMatch(tracefs().read('uprobe_events'), /lkst_bpf_/);
    if (tracefs().has('kprobe_events')) return;
    // No kprobes here: a kprobe line on BPF is refused in one line too (the guest has them).
    maskset('kprobe', 'kprobe:do_sys_openat2 record engine=bpf\n');
    const k = lkst(['record', '-q', '-m', 'kprobe', '-o', join(dir, 'k.dat'), '--', 'true'], { env });
    assert.ok(isOneLineError(k), k.stderr);
    assert.match(k.stderr, /kprobe\.maskset:1: this kernel has no kprobe events/);
  });
});
