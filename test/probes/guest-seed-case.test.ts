// The seed's case study with kprobes, in the Debian 6.12 guest: lkst records the timer and kmem
// events and kprobes on the timer-after-free module's functions that handle its struct (A: new,
// its return value, arm, free, and the timer's callback), made in the kernel's MOD:SYM form before
// the module is loaded. Then the module loads, frees A with its timer armed, and the timer fires on
// the freed memory. `lkst analyze timers` finds it; `lkst report` (what trace-cmd report prints)
// shows A's life by function, in order, each step once: new → kmalloc → timer_init → new returns A
// → arm → timer_start → free → kfree → the timer fires → the callback runs on A's timer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { guestUnavailable } from '../../scripts/guest/guest.js';
import { CLI, lkst } from '../helpers/cli.js';
import { UAF_MODULE as M, runUafGuest } from '../helpers/uaf-guest.js';
const PROBES = [`kprobe:${M}:lkst_victim_new`, `kretprobe:${M}:lkst_victim_new a=$retval:x64`, `kprobe:${M}:lkst_victim_arm a=%di:x64`, `kprobe:${M}:lkst_victim_free a=%di:x64`, `kprobe:${M}:lkst_victim_fire timer=%di:x64`];

// The probes are made before the module exists (the command loads it); the host's root has no
// insmod, busybox's serves. The timer fires 100 ms after the free: the command waits for it.
const GUEST_SCRIPT = `
L="node ${CLI}"
S=$LKST_GUEST_SHARED
T=/sys/kernel/tracing
$L record -e 'timer:*' -e kmem:kmalloc -e kmem:kfree -b 2048 ${PROBES.map((p) => `-e '${p}'`).join(' ')} -o $S/uaf.dat \\
  -- sh -c "cat $T/dynamic_events > $S/probes-before; ls /sys/module > $S/modules-before; busybox insmod $S/${M}.ko && sleep 2" > $S/rec.out 2> $S/rec.err
echo "record $?" > $S/rcs
trace-cmd report -i $S/uaf.dat > $S/uaf.tc 2> /dev/null
cat $T/dynamic_events > $S/probes-after
`;

test("the seed's case with kprobes on the module's struct-A functions, beside timer and kmem events, in a Debian 6.12 guest", { skip: guestUnavailable() ?? false, timeout: 1_800_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-guest-seed-'));
  try {
    const read = await runUafGuest(t, dir, GUEST_SCRIPT, { oneTcgThread: true });
    if (!read) return;
    assert.equal(read('rcs'), 'record 0\n', read('rec.err'));
    // MOD:SYM: every probe was defined while the module was not loaded.
    assert.doesNotMatch(read('modules-before'), new RegExp(`^${M}$`, 'm'));
    for (const fn of ['lkst_victim_new', 'lkst_victim_new_ret', 'lkst_victim_arm', 'lkst_victim_free', 'lkst_victim_fire']) {
      assert.match(read('probes-before'), new RegExp(`^[pr]:lkst_\\d+/${fn} ${M}:`, 'm'), `${fn} made before the module loaded`);
    }
    assert.doesNotMatch(read('probes-after'), /lkst_\d+\//, 'the probes removed when the recording ended');

    const rep = lkst(['report', join(dir, 'uaf.dat')], { timeoutMs: 120_000, maxBuffer: 64 << 20 });
    assert.equal(rep.status, 0, rep.stderr);
    assert.equal(rep.stdout, read('uaf.tc'), 'lkst report prints what trace-cmd report prints');
    const lines = rep.stdout.split('\n').filter((l) => /^\s*\S+-\d+\s+\[\d+\]/.test(l));
    // Counts exact: every event the recorder counted is in the report, or was counted lost.
    const total = /total ([\d,]+) events .*, ([\d,]+) lost/.exec(read('rec.err'));
    assert.ok(total, read('rec.err'));
    assert.equal(lines.length + Number(total[2]!.replace(/,/g, '')), Number(total[1]!.replace(/,/g, '')), 'recorded + lost = the recorder\'s count');

    // A's address from its allocation (the kmalloc lkst_victim_new makes), its timer's from timer_init.
    const one = (re: RegExp, what: string) => {
      const at = lines.flatMap((l, i) => (re.test(l) ? [i] : []));
      assert.equal(at.length, 1, `${what}: exactly once (${re}), found ${at.length}`);
      return at[0]!;
    };
    const alloc = one(/ kmalloc: .*call_site=lkst_victim_new\+/, 'the allocation of A');
    const a = /ptr=(0x[0-9a-f]+)/.exec(lines[alloc]!)![1]!;
    const init = lines.findIndex((l, i) => i > alloc && / timer_init: +timer=0x/.test(l));
    const timer = /timer=(0x[0-9a-f]+)/.exec(lines[init]!)![1]!;
    assert.ok(BigInt(timer) >= BigInt(a) && BigInt(timer) < BigInt(a) + 192n, `A's timer ${timer} lies in A ${a}`);
    const life = [
      ['lkst_victim_new is called', one(/ lkst_victim_new: /, 'kprobe lkst_victim_new')],
      ['kmalloc gives A', alloc],
      ["A's timer is initialised", one(new RegExp(` timer_init: +timer=${timer}$`), 'timer_init of A')],
      ['lkst_victim_new returns A', one(new RegExp(` lkst_victim_new_ret: .* a=${a}$`), 'kretprobe lkst_victim_new')],
      ['lkst_victim_arm(A)', one(new RegExp(` lkst_victim_arm: .* a=${a}$`), 'kprobe lkst_victim_arm')],
      ["A's timer is armed", one(new RegExp(` timer_start: +timer=${timer} function=lkst_victim_fire `), 'timer_start of A')],
      ['lkst_victim_free(A)', one(new RegExp(` lkst_victim_free: .* a=${a}$`), 'kprobe lkst_victim_free')],
      // The first free of A (its memory may serve another allocation later).
      ['A is freed', lines.findIndex((l, i) => i > alloc && / kfree: /.test(l) && l.endsWith(` ptr=${a}`))],
      ["A's timer fires", one(new RegExp(` timer_expire_entry: +timer=${timer} function=lkst_victim_fire `), "A's timer firing")],
      ["lkst_victim_fire runs on A's timer", one(new RegExp(` lkst_victim_fire: .* timer=${timer}$`), 'kprobe lkst_victim_fire')],
    ] as const;
    for (let i = 1; i < life.length; i++) assert.ok(life[i]![1] > life[i - 1]![1], `${life[i - 1]![0]}, then ${life[i]![0]}:\n${life.map(([w, at]) => `${w}: ${lines[at]}`).join('\n')}`);

    const an = lkst(['analyze', 'timers', join(dir, 'uaf.dat')], { timeoutMs: 120_000 });
    assert.equal(an.status, 3, `a finding exits 3: ${an.stderr}`);
    assert.match(an.stdout, new RegExp(`\\[freed-while-pending\\] .* memory ${a} freed while its timer ${timer} \\(lkst_victim_fire\\) was still armed`));
    assert.match(an.stdout, new RegExp(`\\[fired-after-free\\] .* timer ${timer} \\(lkst_victim_fire\\)`));
  } finally {
    // LKST_TEST_KEEP=1 keeps the guest's files (outputs, reports, traces) to look at.
    if (process.env['LKST_TEST_KEEP'] === '1') process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
});
