// kprobe, kretprobe, fprobe, eprobe and function tracer specs: their definitions as the kernel's
// docs write them, and on a kernel without the feature one line naming it, with nothing left behind
// (this host: no kprobes, no fprobes, eprobes refused, the function tracer refused). Recorded for
// real in a guest: guest-probes.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LkstError } from '../../src/base/errors.js';
import { probeLine } from '../../src/probes/dynamic.js';
import { parseProbe, parseProbeText, probeEventGlob } from '../../src/probes/spec.js';
import { detectFeatures } from '../../src/tracefs/features.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { isOneLineError, lkst } from '../helpers/cli.js';

test('kernel probe specs become the definitions of kprobetrace.rst, fprobetrace.rst and eprobetrace.rst', () => {
  const line = (text: string) => probeLine(parseProbeText(text), 'lkst_1');
  assert.equal(line('kprobe:do_sys_openat2'), 'p:lkst_1/do_sys_openat2 do_sys_openat2');
  assert.equal(line('kprobe:do_sys_openat2+4 dfd=%di:s32'), 'p:lkst_1/do_sys_openat2_4 do_sys_openat2+4 dfd=%di:s32');
  assert.equal(line('kretprobe:do_sys_openat2'), 'r:lkst_1/do_sys_openat2_ret do_sys_openat2 ret=$retval:s64');
  // A module's function in the kernel's MOD:SYM form (the module may load after the probe is made).
  assert.equal(line('kprobe:lkst_uaf:lkst_victim_arm v=%di:x64'), 'p:lkst_1/lkst_victim_arm lkst_uaf:lkst_victim_arm v=%di:x64');
  assert.equal(line('kretprobe:lkst_uaf:lkst_victim_new'), 'r:lkst_1/lkst_victim_new_ret lkst_uaf:lkst_victim_new ret=$retval:s64');
  assert.equal(probeEventGlob('kprobe:lkst_uaf:lkst_victim_free'), 'lkst_*:lkst_victim_free');
  assert.equal(line('fprobe:vfs_read'), 'f:lkst_1/vfs_read__entry vfs_read $arg*');
  assert.equal(line('fprobe:vfs_read count'), 'f:lkst_1/vfs_read__entry vfs_read count');
  assert.equal(line('fprobe:vfs_read%return'), 'f:lkst_1/vfs_read__exit vfs_read%return ret=$retval');
  assert.equal(line('eprobe:sched/sched_switch next=$next_pid'), 'e:lkst_1/sched_switch sched.sched_switch next=$next_pid');
  assert.equal(probeEventGlob('kprobe:do_sys_openat2 dfd=%di'), 'lkst_*:do_sys_openat2');
  assert.equal(probeEventGlob('function_graph:vfs_*'), 'ftrace:funcgraph_*');
  assert.deepEqual(parseProbe('function:vfs_*'), { kind: 'function', target: 'vfs_*', offset: 0, args: [] });
  for (const [spec, re] of [
    ['kretprobe:vfs_read+4', /a kretprobe goes on a function's entry/],
    ['fprobe:vfs_read+4', /is not a fprobe: write fprobe:SYMBOL or fprobe:SYMBOL%return/],
    ['eprobe:sched_switch', /is not an eprobe/],
    ['kprobe:vfs_read size', null],
    ['kretprobe:lkst_uaf:lkst_victim_new+4', /a kretprobe goes on a function's entry/],
    ['kprobe:a:b:c', /is not a kprobe: write kprobe:\[MODULE:\]SYMBOL/],
  ] as const) {
    if (!re) assert.ok(parseProbeText(spec));
    else assert.throws(() => parseProbeText(spec), (e: unknown) => e instanceof LkstError && re.test(e.message));
  }
});

const has = (f: string) => tracefs().has(f);
const readme = has('README') ? tracefs().read('README') : '';
const features = detectFeatures();
const tracers = has('available_tracers') ? tracefs().read('available_tracers') : '';
const cases: { spec: string; lacks: string | false; re: RegExp }[] = [
  { spec: 'kprobe:do_sys_openat2', lacks: !has('kprobe_events') && 'kprobes', re: /^lkst: this kernel has no kprobe events: use a kernel built with CONFIG_KPROBE_EVENTS=y/ },
  { spec: 'kretprobe:do_sys_openat2', lacks: !has('kprobe_events') && 'kprobes', re: /^lkst: this kernel has no kprobe events/ },
  { spec: 'fprobe:vfs_read%return', lacks: !/^\s*f\[/m.test(readme) && 'fprobes', re: /^lkst: this kernel has no fprobe events: use a kernel built with CONFIG_FPROBE_EVENTS=y/ },
  // This VM's README describes eprobes; the kernel refuses every one.
  { spec: 'eprobe:sched/sched_switch', lacks: !features.eventProbes && 'working eprobes', re: /^lkst: this kernel (refuses event probes|has no event probes)/ },
  { spec: 'function:vfs_*', lacks: !features.functionTracer && 'a function tracer it allows', re: /^lkst: this kernel refuses the function tracer in an instance \(EPERM, even as root\)/ },
  { spec: 'function_graph:vfs_read', lacks: !(features.functionTracer && /\bfunction_graph\b/.test(tracers)) && 'a function_graph tracer', re: /^lkst: this kernel (has no function_graph tracer|refuses the function_graph tracer)/ },
];

for (const c of cases) {
  // Each case runs only where the kernel lacks what it needs (this host); the guest test records them.
  test(`${c.spec} on a kernel without ${c.lacks}: one line naming it, no probe group or instance left`, { skip: c.lacks === false ? 'this kernel has it' : false }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkst-kprobe-'));
    const r = lkst(['record', '-q', '-e', 'sched:sched_switch', '-e', c.spec, '-o', join(dir, 'out.dat'), '--', 'true']);
    rmSync(dir, { recursive: true, force: true });
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, c.re);
    assert.doesNotMatch(has('dynamic_events') ? tracefs().read('dynamic_events') : '', new RegExp(`lkst_${r.pid}/`), 'no probe of that lkst left');
    assert.ok(!readdirSync(tracefs().path('instances')).some((n) => n.includes(`-${r.pid}`)), 'no instance of that lkst left');
    const f = lkst(['probe', 'fields', c.spec]);
    if (!c.spec.startsWith('function')) assert.ok(isOneLineError(f) && c.re.test(f.stderr), f.stderr);
  });
}
