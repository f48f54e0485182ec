// lkst boot enable/disable/start and recover --last-boot on this host (no boot-persistent instance):
// the kernel parameters carry the maskset's events as this kernel names them, the GRUB drop-in is
// written and removed, and what cannot work is refused in one line.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isOneLineError, lkst } from '../helpers/cli.js';

const available = readFileSync('/sys/kernel/tracing/available_events', 'utf8').split('\n').filter(Boolean);

test('boot enable prints reserve_mem and trace_instance with the maskset\'s events, tracing off at boot', () => {
  const r = lkst(['boot', 'enable', '-m', 'timer', '--size', '8']);
  assert.equal(r.status, 0, r.stderr);
  const m = /^reserve_mem=8M:4096:lkst_boot trace_instance=lkst_boot\^traceoff@lkst_boot,(\S+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  const events = m[1]!.split(',');
  // Each is an event or a whole system of this kernel's, and the timer ones are there.
  for (const e of events) assert.ok(available.includes(e) || available.some((a) => a.startsWith(`${e}:`)), e);
  assert.ok(events.includes('timer:timer_start'), events.join(','));
  assert.match(r.stdout, /lkst boot start/);
});

test('boot enable --install writes the GRUB drop-in; boot disable removes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-grub-'));
  try {
    const env = { ...process.env, LKST_GRUB_DIR: dir };
    const r = lkst(['boot', 'enable', '-m', 'timer', '--install'], { env });
    assert.equal(r.status, 0, r.stderr);
    const cfg = readFileSync(join(dir, 'lkst.cfg'), 'utf8');
    assert.match(cfg, /^GRUB_CMDLINE_LINUX_DEFAULT="\$\{GRUB_CMDLINE_LINUX_DEFAULT\} reserve_mem=16M:4096:lkst_boot trace_instance=lkst_boot\^traceoff@lkst_boot,\S+"$/m);
    assert.match(r.stdout, /update-grub/);
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
