import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestNames, editDistance } from '../../src/events/closest-names.js';

test('edit distance counts edits and adjacent swaps, ignoring case', () => {
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kfree', 'KFREE'), 0);
  assert.equal(editDistance('kmaloc', 'kmalloc'), 1);
  assert.equal(editDistance('swtich', 'switch'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('closest names: near ones first, far ones dropped, aliases count', () => {
  const pool = [{ name: 'MEM_MALLOC' }, { name: 'MEM_VMALLOC' }, { name: 'MEM_FREE' }, { name: 'sched:sched_switch', aliases: ['sched_switch'] }];
  assert.deepEqual(closestNames('MEM_MALOC', pool), ['MEM_MALLOC', 'MEM_VMALLOC']);
  assert.deepEqual(closestNames('sched_swich', pool), ['sched:sched_switch']);
  assert.deepEqual(closestNames('qqqq', pool), []);
});
