import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { addrBig, addrDiff, addrDigits, addrHex, addrKey, offsetOf, pageOf } from '../../src/analysis/addr.js';

/** This kernel's symbol addresses (read as root: real ones), and the edges of the kernel half. */
const kernel = readFileSync('/proc/kallsyms', 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => BigInt('0x' + l.slice(0, l.indexOf(' '))))
  .filter((a) => a !== 0n);
const edges = [0n, 1n, 4095n, 4096n, 1n << 48n, (1n << 48n) - 1n, 0xfffeffffffffffffn, 0xffff000000000000n, 0xffff000000000fffn, 0xffff000000001000n, 0xffffffffffffffffn];

test('each address has one key and each key one address; hex, pages and differences as with bigints', () => {
  assert.ok(kernel.length > 10_000, `${kernel.length} addresses in /proc/kallsyms`);
  const seen = new Map<number | bigint, bigint>();
  for (const a of [...kernel, ...edges]) {
    const k = addrKey(a);
    // The kernel half is a number (exact: below 2^48); the rest stays a bigint.
    assert.equal(typeof k, a >> 48n === 0xffffn ? 'number' : 'bigint', a.toString(16));
    if (typeof k === 'number') assert.ok(Number.isSafeInteger(k) && k >= 0 && k < 2 ** 48);
    const other = seen.get(k);
    assert.ok(other === undefined || other === a, `0x${a.toString(16)} and 0x${other?.toString(16)} share a key`);
    seen.set(k, a);
    assert.equal(addrBig(k), a);
    assert.equal(addrDigits(k), a.toString(16));
    assert.equal(addrHex(k), '0x' + a.toString(16));
    assert.equal(pageOf(k), Number(a >> 12n));
    assert.equal(offsetOf(k), Number(a & 4095n));
  }
  const [a, b] = [kernel[0]!, kernel[kernel.length - 1]!];
  assert.equal(addrDiff(addrKey(b), addrKey(a)), Number(b - a));
  assert.equal(addrDiff(addrKey(0xffff000000000000n), addrKey(0xfffeffffffffffffn)), 1);
  // A signed field's negative value is no unsigned address: it keeps its bigint, as before.
  assert.equal(addrKey(-1n), -1n);
});
