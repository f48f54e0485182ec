// The seed's case caught live by the built-in maskset uaf-live, whose handler uaf-live is the BPF C of
// examples/handlers/timer-uaf.bpf.c: it keeps freed kmalloc objects in a map and alerts when a timer
// is armed or fires inside one; `lkst record -m uaf-live` and `lkst watch` are the whole case. On this host a
// healthy workload raises no alert; in the Debian 6.12 guest with the timer-after-free module,
// `lkst watch` prints the alert when the freed timer fires, naming the timer and the object, and the
// flight recorder (the buffer bpf, frozen by the handler) ends with that event.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { guestUnavailable } from '../../scripts/guest/guest.js';
import { UAF_MODULE as M, runUafGuest } from '../helpers/uaf-guest.js';
import { CLI, lkst } from '../helpers/cli.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';

function setup(): { dir: string; etc: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-useruaf-'));
  return { dir, etc: join(dir, 'etc') };
}

test('the built-in maskset uaf-live on a healthy workload of this host: every event seen and recorded, no alert', { skip: tracepointBpfSkip() }, () => {
  const { dir, etc } = setup();
  try {
    const env = { ...process.env, LKST_CONFIG_DIR: etc, LKST_STATE_DIR: join(dir, 'run') };
    const file = join(dir, 'h.dat');
    const r = lkst(['record', '-m', 'uaf-live', '-o', file, '--', 'sh', '-c', 'for i in 1 2 3 4 5; do ls -R /usr/lib > /dev/null; sleep 0.1; done'], { env, timeoutMs: 120_000 });
    assert.equal(r.status, 0, `exit ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''}: ${r.stderr}`);
    assert.match(r.stderr, /BPF alerts: 0\b/);
    // kmem and timer events run tracepoint programs, which the kernel skips while another BPF program runs on
    // the CPU (another test's): such a loss is counted in the line, and the buffer holds what was recorded.
    const recorded = Number(/BPF records: ([\d,]+) in buffer bpf, (none lost|[\d,]+ LOST \()/.exec(r.stderr)?.[1]?.replace(/,/g, ''));
    assert.ok(recorded > 0, r.stderr);
    const report = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(report.status, 0, report.stderr);
    for (const ev of ['kmalloc', 'kfree', 'timer_start', 'timer_expire_entry']) assert.match(report.stdout, new RegExp(`^ *bpf:.* ${ev}: `, 'm'), `the handler saw ${ev}`);
    assert.equal(report.stdout.split('\n').filter((l) => l.trimStart().startsWith('bpf:')).length, recorded, 'the buffer bpf holds what the recording counted');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// lkst watch waits for the recording; the module frees A with its timer armed, which fires 100 ms later.
const GUEST_SCRIPT = `
L="node ${CLI}"
S=$LKST_GUEST_SHARED
export LKST_CONFIG_DIR=$S/etc LKST_STATE_DIR=/run/lkst-uaf LKST_CACHE_DIR=/var/tmp/lkst-uaf
$L watch -n 1 --wait 900 > $S/watch.out 2> $S/watch.err &
W=$!
$L record -m uaf-live -o $S/uaf.dat -- sh -c "sleep 1; busybox insmod $S/${M}.ko && sleep 2; bpftool prog show > $S/progs" > $S/rec.out 2> $S/rec.err
echo "record $?" > $S/rcs
wait $W
echo "watch $?" >> $S/rcs
dmesg | grep lkst_uaf > $S/dmesg
trace-cmd report -i $S/uaf.dat > $S/uaf.tc 2> /dev/null
`;

test("the seed's case caught live in the Debian 6.12 guest: lkst watch names the freed timer and its object, the flight recorder ends there", { skip: (tracepointBpfSkip() || guestUnavailable()) ?? false, timeout: 1_800_000 }, async (t) => {
  const { dir } = setup();
  try {
    // A tracepoint program does not run while another BPF program runs on its CPU (the kernel's
    // bpf_prog_active): A's kfree or the timer's firing may come during another event's program (an
    // interrupt inside a kmalloc's), and is then skipped, counted in recursion_misses. lkst says so
    // ("uncertain: N events never reached their handlers"); then the guest runs once more.
    // One TCG thread for both vCPUs: attaching the programs patches kernel text (static keys), and a
    // vCPU on its own thread once executed a nop being patched (CI: an int3 in try_to_wake_up, RIP
    // one byte into a 5-byte nop), as the probe guests did.
    let read: ((file: string) => string) | undefined;
    for (let run = 1; ; run++) {
      read = await runUafGuest(t, dir, GUEST_SCRIPT, { oneTcgThread: true });
      if (!read) return;
      assert.equal(read('rcs'), 'record 0\nwatch 0\n', `${read('rec.err')}${read('watch.err')}`);
      if (!/BPF alerts: 0\b/.test(read('rec.err'))) break;
      const uncertain = /BPF alerts: 0; uncertain: ([\d,]+) events never reached their handlers/.exec(read('rec.err'));
      if (!uncertain) break;
      if (run === 3) return t.skip(`in each of 3 runs the kernel's recursion guard skipped handler events (last: ${uncertain[1]}), and no alert came`);
      t.diagnostic(`run ${run}: no alert, and ${uncertain[1]} events never reached their handlers: once more`);
    }
    // The module says where A and its timer were.
    const said = /freeing ([0-9a-f]+) while its timer ([0-9a-f]+) is armed/.exec(read('dmesg'));
    assert.ok(said, read('dmesg'));
    const [a, timer] = [BigInt(`0x${said[1]}`), BigInt(`0x${said[2]}`)];
    assert.match(read('rec.err'), /BPF alerts: 1\b/, `${read('rec.err')}${read('dmesg')}\n${read('progs')}`);
    const alert = read('watch.out').trim();
    assert.match(alert, / timer:timer_expire_entry pid=\d+ timer=\d+ .*function=\d+ .*object=0x[0-9a-f]+ /, alert);
    const field = (k: string) => BigInt(new RegExp(` ${k}=(\\S+)`).exec(alert)![1]!);
    assert.equal(field('timer'), timer, 'the alert names the freed timer');
    assert.equal(field('object'), a, 'and the object it lay in');
    assert.ok(field('object_bytes') > timer - a, 'the object holds the timer');
    // The flight recorder: the buffer bpf ends with that firing, after the object's kfree.
    const bpf = read('uaf.tc').split('\n').filter((l) => l.trimStart().startsWith('bpf:'));
    assert.match(bpf.at(-1)!, new RegExp(` timer_expire_entry: +timer=0x${timer.toString(16)} `), bpf.slice(-3).join('\n'));
    assert.ok(bpf.some((l) => new RegExp(` kfree: .*ptr=0x${a.toString(16)}\\b`).test(l)), "A's kfree is in the flight recorder");
  } finally {
    if (process.env['LKST_TEST_KEEP'] === '1') process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
});
