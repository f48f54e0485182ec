// Probes in maskset lines (a probe spec and its arguments, then a handler and its parameters), in
// `lkst handler set --maskset`, and in report -e: a C function called 300 times, recorded through
// a maskset file with a filter on its argument; the probes are gone after; lkst start refuses them.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatMaskset, parseMaskset } from '../../src/masksets/parse.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { probeProgram } from '../helpers/probe-program.js';

const skip = tracefs().has('uprobe_events') ? false : 'this kernel has no uprobe_events';

test('a maskset probe line: spec and probe arguments, then handler and its parameters; written back the same', () => {
  const text = 'uprobe:libc:malloc size=%di:u64 $arg1=x filter expr="size > 100"\nkprobe:do_sys_open record\nfunction:vfs_* record\n';
  const m = parseMaskset('p', text, 'p.maskset');
  assert.deepEqual(
    m.entries.map((e) => [e.event, e.handler, e.params]),
    [
      ['uprobe:libc:malloc size=%di:u64 $arg1=x', 'filter', { expr: 'size > 100' }],
      ['kprobe:do_sys_open', 'record', {}],
      ['function:vfs_*', 'record', {}],
    ],
  );
  assert.deepEqual(parseMaskset('p', formatMaskset(m), 'again').entries.map((e) => [e.event, e.handler, e.params]), m.entries.map((e) => [e.event, e.handler, e.params]));
});

describe('probes in maskset files', { skip }, () => {
  const { dir, config, env, bin } = probeProgram('lkst-probe-maskset-', `__attribute__((noinline)) long lkst_ms_target(long a, long b) { __asm__ volatile(""); return a + b; }
int main(void) { long s = 0; for (long i = 1; i <= 300; i++) s += lkst_ms_target(i, 7); return 0; }
`);
  const countIn = (file: string, re: RegExp, extra: string[] = []) => {
    const r = lkst(['report', ...extra, file], { env });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => re.test(l)).length;
  };

  test('lkst record -m with probe lines: the filter handler on a probe argument, the record handler on its return; nothing left after', () => {
    const mfile = join(config, 'masksets', 'probes.maskset');
    writeFileSync(mfile, `# probes of the test program\nuprobe:${bin}:lkst_ms_target a=%di:s64 b=%si:s64  filter expr="a > 250"\nuretprobe:${bin}:lkst_ms_target record\nsched:sched_process_exec record\n`);
    const out = join(dir, 'a.dat');
    const r = lkst(['record', '-q', '-m', 'probes', '-o', out, '--', bin], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(countIn(out, /lkst_ms_target: .* a=\d+ b=7$/), 50, 'calls 251..300 pass the filter');
    assert.equal(countIn(out, /lkst_ms_target_ret: /), 300, 'every return');
    assert.ok(countIn(out, /sched_process_exec: /) >= 1, "the maskset's tracepoint too");
    // report -e takes the probe spec (its event is found whichever lkst made it).
    assert.equal(countIn(out, /lkst_ms_target/, ['-e', `uprobe:${bin}:lkst_ms_target`]), 50);
    assert.equal(countIn(out, /lkst_ms_target/, ['-e', `uretprobe:${bin}:lkst_ms_target`]), 300);
    assert.doesNotMatch(tracefs().read('uprobe_events'), /lkst_ms_target/, 'the probes are removed when the recording ends');

    // handler set --maskset rewrites the probe's line; the next recording uses it.
    const h = lkst(['handler', 'set', '-m', 'probes', `uprobe:${bin}:lkst_ms_target a=%di:s64 b=%si:s64`, 'filter', 'expr=a > 290'], { env });
    assert.equal(h.status, 0, h.stderr);
    assert.match(readFileSync(mfile, 'utf8'), /^uprobe:\S+:lkst_ms_target a=%di:s64 b=%si:s64 +filter +expr="a > 290"$/m);
    const out2 = join(dir, 'b.dat');
    const r2 = lkst(['record', '-q', '-m', 'probes', '-o', out2, '--', bin], { env });
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal(countIn(out2, /lkst_ms_target: /), 10, 'calls 291..300');
    assert.doesNotMatch(tracefs().read('uprobe_events'), /lkst_ms_target/);
  });

  test('a bad probe line names the file and line; lkst start refuses a maskset with probes in one line', () => {
    writeFileSync(join(config, 'masksets', 'bad.maskset'), `sched:sched_switch record\nuprobe:${bin}:no_such_function record\n`);
    const r = lkst(['record', '-q', '-m', 'bad', '-o', join(dir, 'c.dat'), '--', 'true'], { env });
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /bad\.maskset:2: .* has no function 'no_such_function'/);
    const s = lkst(['start', '-m', 'probes'], { env });
    assert.ok(isOneLineError(s), s.stderr);
    assert.match(s.stderr, /probes\.maskset:\d+: u(ret)?probe:\S+ is a probe, made only for a recording: record it with `lkst record -m`/);
    assert.doesNotMatch(tracefs().read('uprobe_events'), /no_such_function|lkst_ms_target/);
  });
});
