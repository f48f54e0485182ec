import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCmdlines } from '../../src/events/cmdlines.js';
import { tracefs } from '../../src/tracefs/tracefs.js';

test('this kernel\'s saved_cmdlines: each pid names the comm of its first line', () => {
  const text = tracefs().read('saved_cmdlines');
  const lines = text.split('\n').filter(Boolean).map((l) => /^(\d+) (.*)$/.exec(l)!);
  assert.ok(lines.length > 0 && lines.every(Boolean), 'the kernel lists "PID COMM" lines');
  // A comm that is empty or only blanks ends libtraceevent's reading (and so ours): check up to it.
  const stop = lines.findIndex((m) => m[2]!.trim() === '');
  const read = stop < 0 ? lines : lines.slice(0, stop);
  const map = parseCmdlines(text);
  const first = new Map<number, string>();
  for (const m of read) if (!first.has(Number(m[1]))) first.set(Number(m[1]), m[2]!.replace(/^\s+/, ''));
  assert.deepEqual(map, first);
});
