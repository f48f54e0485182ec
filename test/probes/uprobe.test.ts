// uprobes and uretprobes made by lkst on this kernel: a C program's function called N times with
// known arguments gives N entry events with those arguments and N return events with its results;
// libc found by name; a symbol that does not exist and a file that is not ELF are one line each.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LkstError } from '../../src/base/errors.js';
import { elfFunctions } from '../../src/probes/elf-symbols.js';
import { listProbeTargets } from '../../src/probes/list.js';
import { createProbe, removeDeadProbeGroups, removeProbeGroup } from '../../src/probes/dynamic.js';
import { parseProbe, probeGroup } from '../../src/probes/spec.js';
import { findFile } from '../../src/probes/uprobe.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { withInstance } from '../helpers/instance.js';
import { isOneLineError, lkst } from '../helpers/cli.js';

const CALLS = 1000;
const skip = tracefs().has('uprobe_events') ? false : 'this kernel has no uprobe_events';

describe('uprobes', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-uprobe-'));
  const group = probeGroup();
  after(() => {
    removeProbeGroup(group);
    rmSync(dir, { recursive: true, force: true });
  });

  test('entry and return probes on a function called N times record its N arguments and N results', async () => {
    const src = join(dir, 'target.c');
    writeFileSync(
      src,
      `__attribute__((noinline)) long lkst_target(long a, long b, long c) { __asm__ volatile(""); return a * b + c; }
int main(void) { long s = 0; for (long i = 1; i <= ${CALLS}; i++) s += lkst_target(i, 2, -i); return (int)(s & 1); }
`,
    );
    const bin = join(dir, 'target');
    execFileSync('cc', ['-O1', '-o', bin, src]);
    const entry = createProbe(parseProbe(`uprobe:${bin}:lkst_target`, ['a=%di:s64', 'b=%si:s64', 'c=%dx:s64']), group);
    const ret = createProbe(parseProbe(`uretprobe:${bin}:lkst_target`), group);
    await withInstance('uprobe', async (inst) => {
      inst.setEventEnabled(entry.system, entry.event, true);
      inst.setEventEnabled(ret.system, ret.event, true);
      inst.tracingOn = true;
      try {
        execFileSync(bin);
      } catch {
        /* its exit code is the checksum's parity */
      }
      inst.tracingOn = false;
      inst.setEventEnabled(entry.system, entry.event, false);
      inst.setEventEnabled(ret.system, ret.event, false);
      const text = inst.read('trace');
      const args = [...text.matchAll(/lkst_target: \(0x[0-9a-f]+\) a=(-?\d+) b=(-?\d+) c=(-?\d+)/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
      const rets = [...text.matchAll(/lkst_target_ret: \(0x[0-9a-f]+ <- 0x[0-9a-f]+\) ret=(-?\d+)/g)].map((m) => Number(m[1]));
      assert.equal(args.length, CALLS, 'one entry event per call');
      assert.deepEqual(args, Array.from({ length: CALLS }, (_, i) => [i + 1, 2, -(i + 1)]));
      assert.deepEqual(rets, Array.from({ length: CALLS }, (_, i) => i + 1), 'one return event per call, with its result');
    });
  });

  test('a library named without a path is found (libc), and its malloc takes a probe', () => {
    const libc = findFile('libc');
    assert.match(libc, /libc\.so\.6$/);
    assert.ok(elfFunctions(libc).has('malloc'));
    const p = createProbe(parseProbe('uprobe:libc:malloc', ['size=%di:u64']), group);
    assert.ok(tracefs().has(`events/${p.system}/${p.event}/format`));
    assert.match(tracefs().read(`events/${p.system}/${p.event}/format`), /field:u64 size;/);
  });

  test('a symbol that does not exist, a file that is not ELF, a malformed spec: one line each', () => {
    const bad = (f: () => unknown, re: RegExp) =>
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof LkstError, String(e));
        assert.equal(e.message.split('\n').length, 1);
        assert.match(e.message, re);
        return true;
      });
    bad(() => createProbe(parseProbe('uprobe:libc:no_such_function_here'), group), /has no function 'no_such_function_here': list its functions/);
    bad(() => createProbe(parseProbe('uprobe:/etc/hostname:main'), group), /\/etc\/hostname is not an ELF file/);
    bad(() => parseProbe('uprobe:libc'), /is not a uprobe/);
    bad(() => parseProbe('uprobe:libc:malloc', ['size']), /'size' is not a probe argument/);
  });

  test("the probes of an lkst that is gone are removed (lkst reset does this), a live one's kept", () => {
    // Not through `lkst reset` itself: the suite runs files in parallel and a whole reset would act on theirs.
    const dead = spawnSync('true').pid!;
    const deadGroup = probeGroup(dead);
    try {
      createProbe(parseProbe('uprobe:libc:free'), deadGroup);
      createProbe(parseProbe('uprobe:libc:free'), group);
      const lines = removeDeadProbeGroups((pid) => existsSync(`/proc/${pid}`));
      assert.ok(lines.includes(`removed 1 probe(s) of ${deadGroup} (its lkst is gone)`), lines.join('\n'));
      const left = tracefs().read('uprobe_events');
      assert.doesNotMatch(left, new RegExp(`:${deadGroup}/`));
      assert.match(left, new RegExp(`:${group}/free `));
    } finally {
      removeProbeGroup(deadGroup);
    }
  });

  test("what one could probe: a library's functions by glob, the kernel's text symbols", () => {
    const libc = listProbeTargets('libc', 'mall*');
    assert.match(libc.file, /libc\.so\.6$/);
    assert.ok(libc.targets.every((t) => t.name.startsWith('mall')));
    const malloc = libc.targets.find((t) => t.name === 'malloc');
    assert.ok(malloc && malloc.size! > 0);
    assert.equal(malloc.address, elfFunctions(libc.file).get('malloc')!.address);
    const k = listProbeTargets('kernel', 'schedule');
    assert.deepEqual(k.targets.map((t) => t.name), ['schedule']);
  });

  test('lkst record -e uprobe:… records the probes; lkst report prints them as trace-cmd report does; the probes are gone after', () => {
    const src = join(dir, 'rec.c');
    writeFileSync(src, `__attribute__((noinline)) long lkst_rec_target(long a, long b) { __asm__ volatile(""); return a + b; }
int main(void) { long s = 0; for (long i = 1; i <= 300; i++) s += lkst_rec_target(i, 7); return 0; }
`);
    const bin = join(dir, 'rec');
    execFileSync('cc', ['-O1', '-o', bin, src]);
    const out = join(dir, 'rec.dat');
    const r = lkst(['record', '-q', '-e', `uprobe:${bin}:lkst_rec_target a=%di:s64 b=%si:s64`, '-e', `uretprobe:${bin}:lkst_rec_target`, '-o', out, '--', bin]);
    assert.equal(r.status, 0, r.stderr);
    const ours = lkst(['report', out]).stdout.split('\n').filter((l) => l.includes('lkst_rec_target'));
    const theirs = execFileSync('trace-cmd', ['report', '-i', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((l) => l.includes('lkst_rec_target'));
    assert.equal(ours.filter((l) => / a=\d+ b=7$/.test(l)).length, 300, 'every call, with its arguments');
    assert.equal(ours.filter((l) => /lkst_rec_target_ret: .* ret=\d+$/.test(l)).length, 300, 'every return, with its result');
    assert.deepEqual(ours, theirs, 'the same lines as trace-cmd report');
    assert.doesNotMatch(tracefs().read('uprobe_events'), /lkst_rec_target/, 'the probes are removed when the recording ends');
    // With a maskset beside it, and with a filter on its arguments.
    const withMaskset = join(dir, 'm.dat');
    const m = lkst(['record', '-q', '-m', 'default', '-e', `uprobe:${bin}:lkst_rec_target`, '-o', withMaskset, '--', bin]);
    assert.equal(m.status, 0, m.stderr);
    const mText = lkst(['report', withMaskset]).stdout;
    assert.equal(mText.split('\n').filter((l) => l.includes('lkst_rec_target:')).length, 300);
    assert.match(mText, / sched_switch: /, "the maskset's events are there too");
    const filtered = join(dir, 'f.dat');
    const f = lkst(['record', '-q', '-e', `uprobe:${bin}:lkst_rec_target a=%di:s64`, '-f', 'a > 250', '-o', filtered, '--', bin]);
    assert.equal(f.status, 0, f.stderr);
    assert.equal(lkst(['report', filtered]).stdout.split('\n').filter((l) => l.includes('lkst_rec_target:')).length, 50, 'the filter on the argument kept calls 251..300');
    assert.doesNotMatch(tracefs().read('uprobe_events'), /lkst_rec_target/, 'no probe left');
  });

  test('lkst probe list and lkst probe fields: what can be probed and what a probe records; nothing left behind', () => {
    const list = lkst(['probe', 'list', 'libc', 'mall*']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^malloc {2}\d+ bytes$/m);
    assert.match(list.stderr, /^\d+ functions in \S+libc\.so\.6 matching mall\*$/m);
    const before = tracefs().read('uprobe_events');
    const fields = lkst(['probe', 'fields', 'uprobe:libc:malloc', 'size=%di:u64']);
    assert.equal(fields.status, 0, fields.stderr);
    assert.match(fields.stdout, /^ {2}size\s+u64\s+16\s+8\s+no$/m);
    assert.match(fields.stdout, /print fmt: "\(%lx\) size=%Lu"/);
    assert.equal(tracefs().read('uprobe_events'), before, 'the probe made to show its fields is removed');
    const missing = lkst(['probe', 'fields', 'uprobe:libc:no_such_fn']);
    assert.ok(isOneLineError(missing), missing.stderr);
  });
});
