// The boot-persistent buffer on a kernel whose last_boot_info lists the previous boot's modules
// (6.15+; Debian's newest of trixie-backports, scripts/guest/fetch-kernel.sh backports): events of
// the previous boot that carry module function pointers (work items and timers of the 9p
// modules, while the guest reads files over 9p) resolve to those functions after the reboot,
// though KASLR put the modules elsewhere. Same course as last-boot.test.ts (6.12).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findGuestKernel, guestUnavailable } from '../../scripts/guest/guest.js';
import { bootParams } from '../../src/crash/last-boot-params.js';
import { moduleBases, parseLastBootInfo } from '../../src/file/last-boot.js';
import type { TraceFile } from '../../src/file/reader.js';
import { CLI } from '../helpers/cli.js';
import { events, lastBootGuest, type LastBootRun } from './last-boot-guest.js';

const skip = guestUnavailable('backports') ?? false;

/** Function pointers of the main buffer's events: event name and address. */
function pointers(f: TraceFile): Array<{ name: string; addr: bigint }> {
  return events(f).flatMap((e) => (typeof e.fields.function === 'bigint' || typeof e.fields.function === 'number' ? [{ name: e.name, addr: BigInt(e.fields.function) }] : []));
}

/** Each module's text range in /proc/modules text (base, base + size). */
function ranges(procModules: string): Map<string, [bigint, bigint]> {
  const size = new Map([...procModules.matchAll(/^(\S+) (\d+) /gm)].map((m) => [m[1]!, BigInt(m[2]!)]));
  return new Map([...moduleBases(procModules)].map(([n, b]) => [n, [b, b + size.get(n)!]]));
}

describe('lkst recover --last-boot resolves the previous boot\'s module addresses (trixie-backports guest)', { skip }, () => {
  let run: LastBootRun;
  let file: TraceFile;
  const shared = (name: string) => run.shared(name);
  before(async () => {
    // The buffer at a fixed address, its events enabled in the first boot only: with events on the
    // command line (timer and workqueue), 7.3.4 emptied CPU 0's previous-boot pages at the next
    // boot and dropped last_boot_info to "# Current" (CPU 1, brought up later, kept its pages).
    const p = await bootParams('timer', 8, 0x10000000n);
    const words = p.words;
    const I = '/sys/kernel/tracing/instances/lkst_boot';
    const lkst = `node ${CLI}`;
    run = await lastBootGuest({
      kernelDir: findGuestKernel('backports')!,
      append: words.join(' '),
      first: `
        # Work items carry their function: netfs and 9p queue theirs while files are read over 9p.
        echo 1 > ${I}/events/timer/timer_start/enable; echo 1 > ${I}/events/workqueue/enable
        ${lkst} boot start > $S/start1 2>&1 || exit 11
        cat /proc/modules > $S/modules1
        # First reads of host files over 9p (each new to this guest's page cache), small and large.
        find /usr/share/doc -name copyright | head -200 | xargs cat > /dev/null 2>&1
        head -c 30000000 /usr/bin/node > /dev/null
        sleep 1`,
      second: `
        cat ${I}/last_boot_info > $S/info
        cat /proc/modules > $S/modules2
        # The kernel's own rendering of the previous boot's work functions (it moves module addresses itself).
        grep -o 'workqueue_execute_start: .*' ${I}/trace | sort | uniq -c | sort -rn | head -50 > $S/kernel-functions
        ${lkst} recover --last-boot -o /tmp/last.dat --json && cp /tmp/last.dat $S/last.dat`,
    });
    file = run.file!;
  });
  after(() => run?.close());

  test('last_boot_info lists each module where /proc/modules of the previous boot had it, and the kernel\'s _text', (t) => {
    const info = parseLastBootInfo(`lkst_boot:${shared('info')}`);
    assert.ok(info && info.text !== undefined, `a [kernel] line: ${shared('info')}`);
    assert.deepEqual(info.modules, moduleBases(shared('modules1')));
    const before = moduleBases(shared('modules1'));
    const now = moduleBases(shared('modules2'));
    const moved = [...before].filter(([n, a]) => now.get(n) !== a).map(([n]) => n);
    if (moved.length) t.diagnostic(`modules moved between the boots: ${moved.join(', ')}`);
    else t.diagnostic('KASLR left every module where it was in the previous boot: the shift is zero this run');
    assert.equal(file.meta.lastBootInfo, `lkst_boot:${shared('info')}`);
    assert.equal(file.meta.modules, shared('modules2'));
  });

  test('the previous boot\'s module function pointers resolve to function starts in those modules', (t) => {
    const where = ranges(shared('modules1'));
    const inModule = (a: bigint) => [...where].find(([, [lo, hi]]) => a >= lo && a < hi)?.[0];
    const all = pointers(file);
    const mods = all.map((p) => ({ ...p, module: inModule(p.addr) })).filter((p) => p.module);
    assert.ok(mods.length > 0, `events with a module's function (of ${all.length} with a function): none`);
    const names = new Map<string, number>();
    for (const p of mods) {
      const s = file.kallsyms.lookup(p.addr);
      assert.ok(s, `${p.name} 0x${p.addr.toString(16)} (${p.module}) resolves`);
      assert.equal(s.offset, 0n, `${p.name} 0x${p.addr.toString(16)}: ${s.name}+0x${s.offset.toString(16)} [${s.module}]`);
      assert.equal(s.module, p.module);
      names.set(`${s.name} [${s.module}]`, (names.get(`${s.name} [${s.module}]`) ?? 0) + 1);
    }
    t.diagnostic(`${mods.length} module function pointers: ${[...names].map(([n, c]) => `${n} x${c}`).join(', ')}`);
    // The kernel moves the previous boot's module addresses itself when it prints the instance
    // (name+0x0/size [module]): each module work function it names is one lkst named.
    const kernelNames = new Set([...shared('kernel-functions').matchAll(/function=(\S+)\+0x0\/0x[0-9a-f]+ \[(\S+)\]/g)].map((m) => `${m[1]} [${m[2]}]`));
    assert.ok(kernelNames.size > 0, `the kernel's trace names module work functions: ${shared('kernel-functions').slice(0, 500)}`);
    for (const n of kernelNames) assert.ok(names.has(n), `${n}, named by the kernel, is among lkst's: ${[...names.keys()].join(', ')}`);
    // The core kernel's pointers resolve to starts as well (the [kernel] line's shift).
    const core = all.filter((p) => !inModule(p.addr)).map((p) => file.kallsyms.lookup(p.addr));
    assert.ok(core.length > 0 && core.every((s) => s && s.offset === 0n), `core: ${core.filter((s) => s?.offset !== 0n).slice(0, 3).map((s) => s && `${s.name}+${s.offset}`).join(', ')}`);
  });

  test('the recover summary counts the modules placed in this boot', () => {
    const json = JSON.parse(run.r.stdout) as { modules?: number; placedModules?: number; warnings: string[] };
    const n = moduleBases(shared('modules1')).size;
    assert.equal(json.modules, n);
    assert.equal(json.placedModules, n);
    assert.deepEqual(json.warnings.filter((w) => /module/.test(w)), []);
  });
});

describe('with the events on the kernel command line (as lkst boot enable printed them until this was found), 7.3 drops the last-boot state: recover --last-boot says why (trixie-backports guest)', { skip }, () => {
  let run: LastBootRun;
  before(async () => {
    const b = await bootParams('timer', 8, 0x10000000n);
    const p = { words: b.words.map((w) => (w.startsWith('trace_instance=') ? `${w},${b.events.join(',')}` : w)) };
    const I = '/sys/kernel/tracing/instances/lkst_boot';
    const lkst = `node ${CLI}`;
    run = await lastBootGuest({
      kernelDir: findGuestKernel('backports')!,
      append: p.words.join(' '),
      first: `
        ${lkst} boot start > $S/start1 2>&1 || exit 11
        find /usr/share/doc -name copyright | head -100 | xargs cat > /dev/null 2>&1
        sleep 1`,
      second: `
        cat ${I}/last_boot_info > $S/info
        for c in ${I}/per_cpu/cpu*; do echo "\${c##*cpu} $(grep '^entries:' $c/stats)"; done > $S/entries
        ${lkst} recover --last-boot -o /tmp/last.dat > $S/recover.out 2> $S/recover.err; echo $? > $S/recover.rc`,
    });
  });
  after(() => run?.close());

  test('the kernel says "# Current" though tracing never started in this boot; lkst names the cause in one line and exits 1', (t) => {
    const entries = run.shared('entries');
    t.diagnostic(`last_boot_info: ${JSON.stringify(run.shared('info'))}; entries per CPU: ${entries.replace(/\n/g, '; ')}`);
    // When a kernel keeps the state, this test has nothing to show: it says so and stops.
    if (!run.shared('info').startsWith('# Current')) {
      t.diagnostic('this kernel kept the last-boot state with events on the command line');
      assert.equal(run.shared('recover.rc').trim(), '0');
      return;
    }
    assert.equal(run.shared('recover.rc').trim(), '1');
    const held = [...entries.matchAll(/^(\d+) entries: (\d+)$/gm)].filter((m) => m[2] !== '0').map((m) => `cpu${m[1]}: ${m[2]}`).join(', ');
    assert.ok(held, 'a later CPU kept its previous-boot pages');
    assert.match(run.shared('recover.err'), new RegExp(`^lkst: instance lkst_boot has tracing off, yet its last_boot_info says "# Current" and it holds events \\(${held}\\): .*kernel command line: boot with .*\n$`));
  });
});
