/** Settings the kernel would refuse with a bare errno are refused up front, in one line naming cause and fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LkstError } from '../../src/base/errors.js';
import { parseClocks } from '../../src/tracefs/clock.js';
import { Instance } from '../../src/tracefs/instance.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { withInstance } from '../helpers/instance.js';
import { bufferInstanceName } from '../../src/buffers/name.js';

const kernelClocks = (): string[] => parseClocks(tracefs().read('trace_clock'));

test('an unknown trace clock is refused listing the clocks this kernel has, and the clock stays', async () => {
  await withInstance('clock', (inst) => {
    const before = inst.clock;
    assert.throws(
      () => {
        inst.clock = 'nosuch';
      },
      (e: unknown) => e instanceof LkstError && e.message === `this kernel has no trace clock 'nosuch': use one of: ${kernelClocks().join(' ')}`,
    );
    assert.equal(inst.clock, before);
    inst.clock = 'mono';
    assert.equal(inst.clock, 'mono', 'a clock the kernel lists is taken');
  });
});

test('lkst record and lkst buffer create --clock nosuch: one line listing the clocks, nothing left behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-clock-'));
  try {
    const out = join(dir, 't.lkst');
    const r = lkst(['record', '-q', '--clock', 'nosuch', '-o', out, '--', 'true']);
    assert.ok(isOneLineError(r), r.stderr);
    assert.equal(r.stderr.trim(), `lkst: this kernel has no trace clock 'nosuch': use one of: ${kernelClocks().join(' ')}`);
    assert.equal(existsSync(out), false);
    const name = `clk${process.pid}`;
    const b = lkst(['buffer', 'create', name, '--clock', 'nosuch']);
    assert.ok(isOneLineError(b), b.stderr);
    assert.match(b.stderr, /no trace clock 'nosuch': use one of: .*\bmono\b/);
    assert.equal(Instance.exists(bufferInstanceName(name)), false, 'the refused buffer is not left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst features as an unprivileged user: one line saying tracefs cannot be read, not a list of noes', () => {
  const r = lkst(['features'], { uid: 65534 });
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /^lkst: permission denied to list \S+: run lkst as root \(sudo\)$/m);
  assert.equal(r.stdout, '');
});
