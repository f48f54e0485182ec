// The function_graph time columns as trace-cmd report 3.1.6 prints them: each expected text is a
// line of its output on a guest recording (test/probes/guest-probes.test.ts compares whole files).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graphDuration } from '../../src/analysis/report/ftrace-calls.js';

test('graph durations: the overhead mark, microseconds with 3 decimals under 7 digits, padded to the bar', () => {
  const cases: [bigint, string][] = [
    [7_545n, '  7.545 us   |  '],
    [28_825n, '+ 28.825 us  |  '],
    [664_006n, '! 664.006 us |  '],
    [5_506_498n, '# 5506.498 us |  '],
    [382_171_852n, '# 382171.852 us |  '],
    // The edges: "over" each threshold, and 7 digits of microseconds without a fraction.
    [10_000n, '  10.000 us  |  '],
    [1_000_000_001n, '$ 1000000 us |  '],
  ];
  for (const [ns, text] of cases) assert.equal(graphDuration(ns), text, `${ns} ns`);
});
