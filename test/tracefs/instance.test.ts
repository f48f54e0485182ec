import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Instance } from '../../src/tracefs/instance.js';
import { tracefs } from '../../src/tracefs/tracefs.js';
import { LkstError } from '../../src/base/errors.js';
import { lkst } from '../helpers/cli.js';
import { withInstance } from '../helpers/instance.js';

test('an instance is created under lkst-*, configured, and removed', async () => {
  let dir = '';
  await withInstance('basic', (inst) => {
    dir = inst.dir;
    assert.ok(inst.name.startsWith('lkst-'));
    assert.ok(existsSync(dir));
    inst.bufferSizeKb = 256;
    assert.ok(inst.bufferSizeKb >= 256 && inst.bufferSizeKb < 272, `kernel rounds to whole pages: ${inst.bufferSizeKb}`);
    const topBefore = tracefs().read('set_event');
    inst.setEventEnabled('sched', 'sched_switch', true);
    assert.deepEqual(inst.enabledEvents(), ['sched:sched_switch']);
    // The top-level buffer is untouched (another tracer may use it: compare, don't assume it idle).
    assert.equal(tracefs().read('set_event'), topBefore);
    inst.setFilter('sched', 'sched_switch', 'prev_pid != 0');
    assert.equal(inst.filter('sched', 'sched_switch'), 'prev_pid != 0');
    assert.ok(inst.cpus().length >= 1);
  });
  assert.ok(!existsSync(dir));
});

test('a rejected filter names the kernel reason and position', async () => {
  await withInstance('badfilter', (inst) => {
    assert.throws(
      () => inst.setFilter('sched', 'sched_switch', 'no_such_field == 1'),
      (err: unknown) => err instanceof LkstError && /rejected/.test(err.message) && /Field not found at position \d+/.test(err.message),
    );
  });
});

test('an unknown event is a clear error, not ENOENT', async () => {
  await withInstance('noevent', (inst) => {
    assert.throws(() => inst.setEventEnabled('sched', 'no_such_event', true), (err: unknown) => err instanceof LkstError && /no event sched:no_such_event/.test(err.message));
  });
});

test('an instance is removed when its process dies of an error, and reset removes those of killed processes', () => {
  const script = `
    import { Instance } from '${new URL('../../src/tracefs/instance.js', import.meta.url).href}';
    const inst = Instance.createOwned('test-crashy');
    console.log(inst.name);
    if (process.argv[1] === 'kill') process.kill(process.pid, 'SIGKILL');
    throw new Error('boom');`;
  const thrown = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const name1 = thrown.stdout.trim();
  assert.ok(name1.startsWith('lkst-'), thrown.stderr);
  assert.ok(!Instance.exists(name1), 'instance left after an uncaught error');

  const killed = spawnSync(process.execPath, ['--input-type=module', '-e', script, 'kill'], { encoding: 'utf8' });
  const name2 = killed.stdout.trim();
  assert.ok(Instance.exists(name2), 'SIGKILL cannot clean up: reset must');
  // lkst reset, which keeps what other lkst's (and other test files') killed recorders still hold.
  const r = lkst(['reset']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(name2), r.stdout);
  assert.ok(!Instance.exists(name2));
});
