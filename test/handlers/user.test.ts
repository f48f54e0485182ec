/** A user handler module: registered with `lkst handler add`, then used in a maskset like a built-in, on the real kernel. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
