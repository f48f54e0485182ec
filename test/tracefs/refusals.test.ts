/** Settings the kernel would refuse with a bare errno are refused up front, in one line naming cause and fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LkstError, refusedError } from '../../src/base/errors.js';
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

test('buffer create and logd as an unprivileged user: the reason is the permission on tracefs, not a missing kernel feature', () => {
  for (const args of [['buffer', 'create', `np${process.pid}`], ['logd', '-d', tmpdir(), '-b', `np${process.pid}`]]) {
    const r = lkst(args, { uid: 65534 });
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /^lkst: permission denied to (look up|list|read) \S+: run lkst as root \(sudo\)$/m, args.join(' '));
  }
});

test('EPERM from the kernel as root is the kernel refusing, not a missing privilege', () => {
  const e = refusedError('write', '/sys/kernel/tracing/x', 'EPERM');
  assert.match(e.message, /^the kernel refused to write \S+ \(EPERM, even as root\)/);
  assert.doesNotMatch(e.message, /run .*as root/);
});

/** Asks the kernel directly, in a scratch instance: can the sub-buffer size be written here? */
async function kernelTakesSubbuf(): Promise<boolean> {
  return withInstance('subbuf-ask', (inst) => {
    try {
      writeFileSync(inst.path('buffer_subbuf_size_kb'), String(inst.subbufSizeKb));
      return true;
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'EPERM', 'the only refusal expected as root');
      return false;
    }
  });
}

test('a sub-buffer size the kernel refuses: record says so in one line, features says not adjustable here', async (t) => {
  if (!tracefs().has('buffer_subbuf_size_kb')) return t.skip('this kernel has no buffer_subbuf_size_kb');
  const topBefore = tracefs().read('buffer_subbuf_size_kb');
  const takes = await kernelTakesSubbuf();
  const f = lkst(['features', '--json']);
  assert.equal(f.status, 0, f.stderr);
  const j = JSON.parse(f.stdout) as { subbufSize: boolean; subbufRefused: boolean };
  assert.deepEqual({ subbufSize: j.subbufSize, subbufRefused: j.subbufRefused }, { subbufSize: takes, subbufRefused: !takes });
  const text = lkst(['features']).stdout;
  const dir = mkdtempSync(join(tmpdir(), 'lkst-subbuf-'));
  try {
    const out = join(dir, 't.lkst');
    const r = lkst(['record', '-q', '--subbuf', '64', '-o', out, '--', 'true']);
    if (takes) {
      assert.match(text, /^yes\s+adjustable sub-buffer size$/m);
      assert.equal(r.status, 0, r.stderr);
    } else {
      assert.match(text, /^no\s+adjustable sub-buffer size: not adjustable here, the kernel refuses writes to buffer_subbuf_size_kb even from root$/m);
      assert.ok(isOneLineError(r), r.stderr);
      assert.match(r.stderr, /^lkst: the kernel refuses adjusting the sub-buffer size here \(it refused writes to \S+\/instances\/lkst-\d+-rec\/buffer_subbuf_size_kb, even as root\): leave --subbuf out; sub-buffers stay \d+ KiB/);
      assert.equal(existsSync(out), false);
      await withInstance('subbuf-set', (inst) => {
        assert.throws(() => {
          inst.subbufSizeKb = 64;
        }, /refuses adjusting the sub-buffer size here/);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(tracefs().read('buffer_subbuf_size_kb'), topBefore, 'the top level is untouched');
  // Probes of lkst processes that ended (ours did) are gone; another process may be probing now.
  const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);
  const left = readdirSync(tracefs().path('instances')).filter((n) => /^lkst-(\d+)-subbuf-probe$/.test(n) && !alive(Number(n.split('-')[1])));
  assert.deepEqual(left, [], 'the probe instance is gone');
});

test('features says yes to the function tracer and event probes only where the kernel accepts them, as trying says', async () => {
  const f = JSON.parse(lkst(['features', '--json']).stdout) as { functionTracer: boolean; eventProbes: boolean };
  const ftrace = await withInstance('ftrace-try', (inst) => {
    try {
      inst.write('current_tracer', 'function');
      inst.write('current_tracer', 'nop');
      return true;
    } catch {
      return false;
    }
  });
  assert.equal(f.functionTracer, ftrace, 'function tracer');
  const top = tracefs();
  const name = `lkst_${process.pid}/try_eprobe`;
  let eprobe = false;
  if (top.has('dynamic_events')) {
    try {
      top.write('dynamic_events', `e:${name} sched/sched_switch\n`, { append: true });
      eprobe = true;
      top.write('dynamic_events', `-:${name}\n`, { append: true });
    } catch {
      /* refused: no event probes */
    }
  }
  assert.equal(f.eventProbes, eprobe, 'event probes');
});
