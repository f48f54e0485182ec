// grouped() prints what toLocaleString('en-US') prints, without loading Intl's locale data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grouped } from '../../src/base/grouped.js';

test('grouped() agrees with toLocaleString("en-US") on counts, negatives, fractions and edges', () => {
  const values = [0, 1, 12, 123, 1234, 12345, 123456, 1234567, 1e9, 2 ** 53, -1, -1234, -1234567.5, 0.5, 1.2345, 1234.5678, 999.9999, -0.0001, -0, 1e20, NaN, Infinity, -Infinity];
  // A fixed pseudo-random sequence (an LCG), so a failure repeats.
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 2000; i++) values.push(Math.floor(next() * 10 ** (i % 16)), next() * 10 ** (i % 9) * (i % 2 ? -1 : 1));
  for (const v of values) assert.equal(grouped(v), v.toLocaleString('en-US'), String(v));
});
