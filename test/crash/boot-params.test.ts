// lkst boot enable/disable/start and recover --last-boot on this host (no boot-persistent instance):
// the kernel parameters carry the maskset's events as this kernel names them, the GRUB drop-in is
// written and removed, and what cannot work is refused in one line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isOneLineError, lkst } from '../helpers/cli.js';

const available = readFileSync('/sys/kernel/tracing/available_events', 'utf8').split('\n').filter(Boolean);

test('boot enable prints reserve_mem and trace_instance, tracing off at boot; boot start -m enables the maskset\'s events', () => {
  const r = lkst(['boot', 'enable', '-m', 'timer', '--size', '8']);
  assert.equal(r.status, 0, r.stderr);
  // No events on the command line (7.3.4 lost the previous boot's state with them there): boot start -m enables them.
  assert.match(r.stdout, /^reserve_mem=8M:4096:lkst_boot trace_instance=lkst_boot\^traceoff@lkst_boot$/m);
  const n = Number(/lkst boot start -m timer \(it enables the maskset's (\d+) events/.exec(r.stdout)?.[1]);
  const timerEvents = available.filter((a) => a.startsWith('timer:')).length;
  assert.ok(n > 0 && n <= timerEvents, `${n} of this kernel's ${timerEvents} timer events: ${r.stdout}`);
  // The KASLR caveat of reserve_mem, with an address of this machine's RAM to give instead.
  assert.match(r.stdout, /^note: reserve_mem chooses the memory at each boot: .* e\.g\. --at 0x[0-9a-f]+$/m);
});

/** The largest System RAM range of /proc/iomem. */
function largestRam(): [bigint, bigint] {
  const ranges = [...readFileSync('/proc/iomem', 'utf8').matchAll(/^([0-9a-f]+)-([0-9a-f]+) : System RAM$/gm)].map((m) => [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`) + 1n] as [bigint, bigint]);
  return ranges.reduce((x, y) => (y[1] - y[0] > x[1] - x[0] ? y : x));
}

test('boot enable --at: memmap= sets the buffer aside at that address and the instance maps it; the address is checked against RAM', () => {
  const suggested = /e\.g\. --at (0x[0-9a-f]+)/.exec(lkst(['boot', 'enable', '-m', 'timer', '--size', '8']).stdout)![1]!;
  const [lo, hi] = largestRam();
  assert.ok(BigInt(suggested) >= lo && BigInt(suggested) + (8n << 20n) <= hi, `${suggested} inside ${lo.toString(16)}-${hi.toString(16)}`);
  const r = lkst(['boot', 'enable', '-m', 'timer', '--size', '8', '--at', suggested]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^memmap=8M\\$${suggested} trace_instance=lkst_boot\\^traceoff@${suggested}:8M$`, 'm'));
  assert.doesNotMatch(r.stdout, /reserve_mem/);
  // The same address in the kernel's other spellings.
  const mib = BigInt(suggested) >> 20n;
  assert.match(lkst(['boot', 'enable', '-m', 'timer', '--size', '8', '--at', `${mib}M`]).stdout, new RegExp(`^memmap=8M\\$${suggested} `, 'm'));
  for (const at of ['0x1001', 'x', `0x${(hi + (1n << 30n)).toString(16)}`, `0x${(hi - (4n << 20n)).toString(16)}`]) {
    const bad = lkst(['boot', 'enable', '-m', 'timer', '--size', '8', '--at', at]);
    assert.ok(isOneLineError(bad), `--at ${at}: ${bad.status} ${bad.stderr}`);
  }
});

test('boot enable --install writes the GRUB drop-in; boot disable removes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-grub-'));
  try {
    const env = { ...process.env, LKST_GRUB_DIR: dir };
    const r = lkst(['boot', 'enable', '-m', 'timer', '--install'], { env });
    assert.equal(r.status, 0, r.stderr);
    const cfg = readFileSync(join(dir, 'lkst.cfg'), 'utf8');
    assert.match(cfg, /^GRUB_CMDLINE_LINUX_DEFAULT="\$\{GRUB_CMDLINE_LINUX_DEFAULT\} reserve_mem=16M:4096:lkst_boot trace_instance=lkst_boot\^traceoff@lkst_boot"$/m);
    assert.match(r.stdout, /update-grub/);
    // memmap's "$" reaches GRUB as \$ once the shell has sourced the drop-in (GRUB would expand a bare $).
    const at = /e\.g\. --at (0x[0-9a-f]+)/.exec(lkst(['boot', 'enable', '-m', 'timer']).stdout)![1]!;
    assert.equal(lkst(['boot', 'enable', '-m', 'timer', '--at', at, '--install'], { env }).status, 0);
    const line = execFileSync('sh', ['-c', `GRUB_CMDLINE_LINUX_DEFAULT=quiet; . ${join(dir, 'lkst.cfg')}; printf %s "$GRUB_CMDLINE_LINUX_DEFAULT"`], { encoding: 'utf8' });
    assert.match(line, new RegExp(`^quiet memmap=16M\\\\\\$${at} trace_instance=lkst_boot\\^traceoff@${at}:16M$`));
    const d = lkst(['boot', 'disable'], { env });
    assert.equal(d.status, 0, d.stderr);
    assert.equal(existsSync(join(dir, 'lkst.cfg')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad sizes, unknown masksets and a kernel without a persistent instance: one-line errors', () => {
  for (const args of [['boot', 'enable', '--size', '0'], ['boot', 'enable', '--size', 'x'], ['boot', 'enable', '-m', 'no-such-maskset'], ['recover', '--last-boot', '-o', join(tmpdir(), 'never.dat')], ['boot', 'start'], ['recover', '--last-boot', 'DUMP']]) {
    const r = lkst(args);
    assert.ok(isOneLineError(r), `${args.join(' ')}: ${r.status} ${r.stderr}`);
  }
  assert.match(lkst(['recover', '--last-boot']).stderr, /no boot-persistent trace instance/);
});
