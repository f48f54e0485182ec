/** A user handler module: registered with `lkst handler add`, then used in a maskset like a built-in, on the real kernel. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { handlerAdd, handlerList, handlerRemove } from '../../src/handlers/commands.js';
import { loadMasksetEnv } from '../../src/masksets/env.js';
import { applyMaskset } from '../../src/masksets/session.js';
import { compileMaskset } from '../../src/masksets/compile.js';
import { parseMaskset } from '../../src/masksets/parse.js';
import exampleComm from '../../examples/handlers/comm.js';
import { between, count, readRecords, tempConfig, withCleanInstance, withWorkers } from '../masksets/kernel.js';

const cfg = tempConfig();
after(() => cfg.done());

const GETPPID = 'syscalls:sys_enter_getppid';
const EXAMPLE = join(process.cwd(), 'examples/handlers/comm.ts');

test('the example handler registers and records only the matching command, with stacks', async () => {
  assert.equal(exampleComm.name, 'comm');
  const out = await handlerAdd({ file: EXAMPLE });
  assert.match(out, /^registered handler comm: /);
  assert.match(await handlerList(), /^comm\s+record the event only for tasks whose command name/m);
  const env = await loadMasksetEnv();
  await withCleanInstance('user', async (inst) => {
    await applyMaskset(inst, parseMaskset('u', `${GETPPID} comm name="nod*" stack=true\n`, 'u.maskset'), { env });
    assert.equal(inst.filter('syscalls', 'sys_enter_getppid'), 'COMM ~ "nod*"');
    inst.tracingOn = true;
    await withWorkers(inst, 1, async (w) => {
      await w.run('getppid', 'node', 12);
      const recs = between(readRecords(inst), 'node').filter((r) => r.pid === w.pid);
      assert.equal(count(recs, GETPPID), 12);
      assert.equal(count(recs, 'ftrace:kernel_stack'), 12);
    });
    // Another command name: nothing recorded.
    await applyMaskset(inst, parseMaskset('u', `${GETPPID} comm name="nosuchcmd"\n`, 'u.maskset'), { env });
    await withWorkers(inst, 1, async (w) => {
      await w.run('getppid', 'other', 12);
      assert.equal(count(between(readRecords(inst), 'other'), GETPPID), 0);
    });
  });
  assert.throws(() => compileMaskset(parseMaskset('u', `${GETPPID} comm name="${'x'.repeat(20)}"\n`, 'u.maskset'), env), /u\.maskset:1: comm: name=x+: at most 16/);
  assert.match(await handlerRemove({ name: 'comm' }), /removed handler comm/);
  assert.doesNotMatch(await handlerList(), /^comm /m);
});

test('broken handler modules are refused and nothing is registered', async () => {
  const bad = join(cfg.root, 'bad.ts');
  writeFileSync(bad, 'export default { name: "Bad Name", description: "x", params: {}, apply: () => [] };\n');
  await assert.rejects(handlerAdd({ file: bad }), /is not a handler: name must be lower-case/);
  const builtinName = join(cfg.root, 'record.mjs');
  writeFileSync(builtinName, 'export default { name: "record", description: "x", params: {}, apply: () => [] };\n');
  await assert.rejects(handlerAdd({ file: builtinName }), /handler record is built in/);
  const syntax = join(cfg.root, 'syntax.ts');
  writeFileSync(syntax, 'export default { name: "x", apply( };\n');
  await assert.rejects(handlerAdd({ file: syntax }), /syntax\.ts: /);
  assert.match(await handlerList(), /^record /m);
  assert.doesNotMatch(await handlerList(), /\[/, 'no user handler registered');
});

test('handler modules run isolated with a time limit: a loop at load or in apply() is cut off, a killed add leaves nothing loaded', async () => {
  // Long enough for a sound module to load in a worker on a loaded 2-CPU machine (1.5 s was not, at load 20).
  process.env['LKST_HANDLER_TIMEOUT_MS'] = '4000';
  try {
    const dir = join(cfg.root, 'etc', 'handlers');
    // A module that loops at load: refused, and no temporary file is left.
    const loops = join(cfg.root, 'loops.mjs');
    writeFileSync(loops, 'while (true) {}\nexport default { name: "loops", description: "x", params: {}, apply: () => [] };\n');
    await assert.rejects(handlerAdd({ file: loops }), /loops\.mjs: load did not finish within 4000 ms/);
    mkdirSync(dir, { recursive: true });
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.adding-')), []);
    // What a killed add leaves (a dead pid's temporary module) is never loaded, and is removed.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const leftover = join(dir, `.adding-${dead}-1.mjs`);
    writeFileSync(leftover, 'while (true) {}\n');
    assert.doesNotMatch(await handlerList(), /adding/);
    assert.equal(existsSync(leftover), false, 'the leftover of a killed add is removed');
    // A module whose apply() loops: the maskset using it fails with the handler named, lkst goes on.
    const applyLoops = join(cfg.root, 'spin.mjs');
    writeFileSync(applyLoops, 'export default { name: "spin", description: "x", params: {}, apply() { for (;;) {} } };\n');
    assert.match(await handlerAdd({ file: applyLoops }), /^registered handler spin/);
    const env = await loadMasksetEnv();
    assert.throws(() => compileMaskset(parseMaskset('s', `${GETPPID} spin\n`, 's.maskset'), env), /spin\.mjs: apply\(\) did not finish within 4000 ms/);
    // recordedBy is answered across the thread boundary.
    const asks = join(cfg.root, 'asks.mjs');
    writeFileSync(asks, 'export default { name: "asks", description: "x", params: {}, apply(ctx) { return ctx.recordedBy(ctx.maskset).size >= 0 ? [{ kind: "enable" }, { kind: "filter", expr: "common_pid == " + [...ctx.recordedBy(ctx.maskset).keys()].length }] : []; } };\n');
    assert.match(await handlerAdd({ file: asks }), /^registered handler asks/);
    const env2 = await loadMasksetEnv();
    const plan = compileMaskset(parseMaskset('q', `${GETPPID} asks\n`, 'q.maskset'), env2);
    // What q records, asked from inside q's own handler: getppid, once.
    assert.equal(plan.tracepoints.get(GETPPID)?.filter, 'common_pid == 1');
    assert.match(await handlerRemove({ name: 'spin' }), /removed handler spin/);
    assert.match(await handlerRemove({ name: 'asks' }), /removed handler asks/);
  } finally {
    delete process.env['LKST_HANDLER_TIMEOUT_MS'];
  }
});
