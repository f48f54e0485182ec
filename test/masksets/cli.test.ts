/** The commander wiring of maskset, handler, start/stop/status, driven like the lkst binary would. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerMaskset } from '../../src/cli/commands/maskset.js';
import { registerHandler } from '../../src/cli/commands/handler.js';
import { registerArmed } from '../../src/cli/commands/armed.js';
import { resetArmed } from '../../src/masksets/session.js';
import { tempConfig } from './kernel.js';

const cfg = tempConfig();
const INST = `lkst-${process.pid}-cli`;
after(() => {
  resetArmed(INST);
  cfg.done();
});

/** Runs one command line; returns what it printed and the exit code it set. */
async function run(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().name('lkst').exitOverride();
  registerMaskset(program);
  registerHandler(program);
  registerArmed(program);
  let out = '';
  let err = '';
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

test('lkst maskset/handler/start/status/stop from the command line', async () => {
  let r = await run('maskset', 'create', 'mine', '-d', 'getppid and sched', '-e', 'syscalls:sys_enter_getppid record', '-e', 'PROCESS_CONTEXTSWITCH record');
  assert.equal(r.code, 0, r.err);
  assert.match((await run('maskset', 'list')).out, /^\s+mine\s+file\s+2\s+getppid and sched$/m);
  r = await run('start', '-m', 'mine', '--instance', INST);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`^tracing armed in ${INST} with maskset mine: 2 tracepoints recorded$`, 'm'));
  r = await run('handler', 'set', 'PROCESS_CONTEXTSWITCH', 'pid', `pids=${process.pid}`);
  assert.match(r.out, /PROCESS_CONTEXTSWITCH now uses pid pids=\d+/);
  r = await run('status');
  assert.match(r.out, /maskset mine \(changed by handler set: PROCESS_CONTEXTSWITCH\), recording/);
  assert.match(r.out, new RegExp(`PROCESS_CONTEXTSWITCH\\s+pid\\s+pids=${process.pid}\\s+sched:sched_switch on \\[prev_pid == ${process.pid} \\|\\| next_pid == ${process.pid}\\]`));
  r = await run('maskset', 'switch', 'nosuch');
  assert.equal(r.code, 1);
  assert.match(r.err, /^lkst: no maskset named nosuch: see `lkst maskset list`/);
  assert.equal(r.err.trim().split('\n').length, 1, 'one line, no stack');
  r = await run('maskset', 'switch', 'off');
  assert.match(r.out, /^switched mine -> off: 2 changes/);
  r = await run('stop', '--remove');
  assert.match(r.out, new RegExp(`stopped; ${INST} removed`));
  assert.match((await run('status')).out, /no trace is armed/);
});

test('the lkst binary refuses a misspelt event, removing an absent entry, and removing a handler a maskset uses', async () => {
  const { isOneLineError, lkst } = await import('../helpers/cli.js');
  const { handlerAdd, handlerList } = await import('../../src/handlers/commands.js');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  let r = lkst(['maskset', 'create', 'typo', '-e', 'sched:sched_swich record']);
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /unknown tracepoint "sched:sched_swich": did you mean sched:sched_switch\b/);
  r = lkst(['maskset', 'create', 'typo2', '-e', 'PROCES_CONTEXTSWITCH record']);
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /did you mean PROCESS_CONTEXTSWITCH/);
  assert.doesNotMatch(lkst(['maskset', 'list']).stdout, /typo/, 'nothing was saved');
  // A tracepoint of no kernel lkst knows and near nothing here may be another kernel's: saved, with a note.
  assert.match(lkst(['maskset', 'create', 'elsewhere', '-e', 'nosuchsys:nosuchevent record']).stdout, /this kernel lacks nosuchsys:nosuchevent/);

  assert.equal(lkst(['maskset', 'create', 'two', '-e', 'syscalls:sys_enter_getppid record', '-e', 'syscalls:sys_enter_getuid record']).status, 0);
  r = lkst(['maskset', 'edit', 'two', '-r', 'syscalls:sys_enter_kill']);
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /^lkst: maskset two has no entry for syscalls:sys_enter_kill: remove one of its own entries \(syscalls:sys_enter_getppid, syscalls:sys_enter_getuid\)/);
  assert.match(lkst(['maskset', 'show', 'two']).stdout, /sys_enter_getuid/, 'the maskset is unchanged');
  assert.equal(lkst(['maskset', 'edit', 'two', '-r', 'syscalls:sys_enter_getuid']).status, 0);
  assert.doesNotMatch(lkst(['maskset', 'show', 'two']).stdout, /sys_enter_getuid/);

  await handlerAdd({ file: join(process.cwd(), 'examples/handlers/comm.ts') });
  assert.equal(lkst(['maskset', 'create', 'bycomm', '-e', 'syscalls:sys_enter_getppid comm name=node']).status, 0, 'the handler is usable');
  r = lkst(['handler', 'remove', 'comm']);
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /^lkst: handler comm is used by maskset bycomm: change those entries first/);
  assert.match(await handlerList(), /^comm /m, 'still registered');
  assert.equal(lkst(['maskset', 'delete', 'bycomm']).status, 0);
  r = lkst(['handler', 'remove', 'comm']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(join(process.env['LKST_CONFIG_DIR']!, 'handlers', 'comm.mjs')), false);
});

test('the lkst binary: start after stop arms the same instance again', () => {
  return import('../helpers/cli.js').then(({ lkst }) => {
    const inst = `lkst-${process.pid}-restart`;
    try {
      let r = lkst(['start', '-m', 'off', '--instance', inst]);
      assert.equal(r.status, 0, r.stderr);
      r = lkst(['stop']);
      assert.match(r.stdout, /^stopped; every event is off/);
      r = lkst(['start', '-m', 'off', '--instance', inst]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^tracing armed in ${inst} with maskset off`));
      assert.match(lkst(['status']).stdout, /maskset off, recording/);
    } finally {
      resetArmed(inst);
    }
  });
});
