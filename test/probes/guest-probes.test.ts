// Kernel probes recorded by lkst running inside a Debian 6.12 guest (this host has no kprobes, no
// fprobes, and refuses eprobes and the function tracer): a program makes getppid() N times under
// `lkst record -F`; kprobe, kretprobe, fprobe entry and exit, an eprobe and the syscall tracepoint
// each record N events, the function and function_graph tracers N calls (getppid's callee too: the
// function tracer's lines indented under their caller, the graph's nested); `lkst report` prints
// every file byte for byte as the guest's trace-cmd 3.1.6 report does (the function tracers' text
// too, from trace-cmd's own handlers), also when asked to share the text with worker threads; after
// kill -9, `lkst reset` removes the killed recorder's probe (and its instance, once it wrote the rest
// of the recording).
// One boot for all of it: lkst's commands take tens of seconds each in a TCG guest.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { guestUnavailable, runInGuest } from '../../scripts/guest/guest.js';
import { nativeHelper } from '../../src/bench/native.js';
import { CLI, lkst } from '../helpers/cli.js';
import { reportText } from '../report/report-output.js';

const N = 300;

const DYNAMIC = ['kprobe:__x64_sys_getppid', 'kretprobe:__x64_sys_getppid', 'fprobe:__do_sys_getppid', 'fprobe:__do_sys_getppid%return', 'eprobe:syscalls/sys_enter_getppid nr=$__syscall_nr', 'syscalls:sys_enter_getppid'];

const GUEST_SCRIPT = `
L="node ${CLI}"
S=$LKST_GUEST_SHARED
T=/sys/kernel/tracing
rec() { name=$1; shift; $L record -q -e sched:sched_process_exec "$@" -o $S/$name.dat -F -- $S/calls ${N} > $S/$name.out 2> $S/$name.err; echo "$name $?" >> $S/rcs; trace-cmd report -i $S/$name.dat > $S/$name.tc 2> /dev/null; }
rec dyn ${DYNAMIC.map((e) => `-e '${e}'`).join(' ')}
rec fn -e 'function:__do_sys_getppid' -e 'function:__task_pid_nr_ns'
rec graph -e 'function_graph:__do_sys_getppid' -e 'function_graph:__task_pid_nr_ns'
cat $T/dynamic_events > $S/after-records
# kill -9 while recording: lkst reset writes the rest of the recording, takes its instance down and removes its probe.
$L record -q -e 'kprobe:__x64_sys_getuid' -o $S/k9.dat -- sleep 600 > /dev/null 2>&1 &
pid=$!
i=0; while [ $i -lt 300 ] && ! grep -q "lkst_$pid/" $T/dynamic_events; do sleep 1; i=$((i+1)); done
sleep 5
kill -9 $pid
echo $pid > $S/k9.pid
cat $T/dynamic_events > $S/k9.before
$L reset > $S/k9.reset 2>&1
cat $T/dynamic_events > $S/k9.after
ls $T/instances > $S/k9.instances
`;

test('kprobes, kretprobes, fprobes, an eprobe and the function tracers recorded by lkst in a Debian 6.12 guest', { skip: guestUnavailable() ?? false, timeout: 1_800_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-guest-probes-'));
  try {
    // The benchmarks' getppid loop, under the name the checks below look for (its comm, `calls`).
    copyFileSync(nativeHelper('syscall-loop'), join(dir, 'calls'));
    const r = await runInGuest({ script: GUEST_SCRIPT, shared: dir, memMiB: 1024, timeoutMs: 1_500_000, oneTcgThread: true });
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    assert.equal(r.code, 0, `${r.stderr}\n${r.serial.slice(-2000)}`);
    assert.equal(read('rcs'), 'dyn 0\nfn 0\ngraph 0\n', ['dyn', 'fn', 'graph'].map((n) => read(`${n}.err`)).join('\n'));
    // Reports on the host: the same files, and lkst's report needs no guest to be checked.
    const report = (name: string) => {
      const out = lkst(['report', join(dir, `${name}.dat`)], { timeoutMs: 120_000 });
      assert.equal(out.status, 0, out.stderr);
      return out.stdout;
    };
    // From the program's exec: the held /bin/sh before it makes a getppid() of its own.
    const count = (text: string, re: RegExp) => {
      const lines = text.split('\n');
      const exec = lines.findIndex((l) => / sched_process_exec: +filename=\S+\/calls /.test(l));
      assert.ok(exec >= 0, 'the program was recorded from its exec');
      return lines.slice(exec).filter((l) => /^\s*calls-\d+/.test(l) && re.test(l)).length;
    };
    const dyn = report('dyn');
    assert.equal(count(dyn, / __x64_sys_getppid: /), N, 'kprobe: one hit per call');
    assert.equal(count(dyn, / __x64_sys_getppid_ret: .* ret=\d+$/), N, 'kretprobe: one return per call');
    assert.equal(count(dyn, / __do_sys_getppid__entry: /), N, 'fprobe entry');
    assert.equal(count(dyn, / __do_sys_getppid__exit: .* ret=/), N, 'fprobe exit, with the return value');
    assert.equal(count(dyn, / sys_enter_getppid: +nr=0x6e$/), N, 'eprobe on the syscall tracepoint, with its field');
    assert.equal(count(dyn, / sys_enter_getppid: (?!.*nr=)/), N, 'the tracepoint itself');
    assert.equal(dyn, read('dyn.tc'), 'lkst report prints what trace-cmd report prints');
    const fn = report('fn');
    assert.equal(fn, read('fn.tc'), 'the function tracer: lkst report prints what trace-cmd report prints');
    assert.equal(count(fn, / function: +__do_sys_getppid$/), N, 'the function tracer: one line per call');
    // Its callee, one level (3 spaces) deeper: trace-cmd's function plugin indents by the caller chain.
    assert.equal(count(fn, / function: {13} {3}__task_pid_nr_ns$/), N, 'the callee indented under getppid');
    const graph = report('graph');
    assert.equal(graph, read('graph.tc'), 'function_graph: lkst report prints what trace-cmd report prints');
    assert.equal(count(graph, /funcgraph_entry: .*\|  __do_sys_getppid\(\) \{$/), N, 'function_graph: getppid opens a block per call');
    assert.equal(count(graph, /funcgraph_entry: .*\|    __task_pid_nr_ns\(\);$/), N, 'its callee a leaf inside it (entry and exit on one line)');
    assert.equal(count(graph, /funcgraph_exit: .* us +\|  \}$/), N, 'and the block closed with its duration');
    // Worker threads: their time ranges would start without the records before them; this thread prints it all.
    for (const name of ['fn', 'graph']) {
      let shared: { used: boolean; why?: string } | undefined;
      const par = await reportText(dir, join(dir, `${name}.dat`), { threads: 1, mainRanges: 1, onRanges: (x) => (shared = x) });
      assert.equal(par.text, read(`${name}.tc`), `${name} with a worker thread`);
      if (shared) assert.match(`${shared.used} ${shared.why}`, /^false function tracer events are printed from the records before them$/);
    }
    assert.doesNotMatch(read('after-records'), /lkst_\d+\//, 'every probe removed when its recording ended');

    const pid = read('k9.pid').trim();
    assert.match(read('k9.before'), new RegExp(`^p:lkst_${pid}/__x64_sys_getuid `, 'm'), 'the killed recorder left its probe');
    assert.match(read('k9.reset'), new RegExp(`removed 1 probe\\(s\\) of lkst_${pid} \\(its lkst is gone\\)`), read('k9.reset'));
    assert.doesNotMatch(read('k9.after'), new RegExp(`lkst_${pid}/`), 'reset removed the probe');
    assert.doesNotMatch(read('k9.instances'), new RegExp(`lkst-${pid}-`), 'and the instance');
  } finally {
    // LKST_TEST_KEEP=1 keeps the guest's files (outputs, reports, traces) to look at.
    if (process.env['LKST_TEST_KEEP'] === '1') process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
});
