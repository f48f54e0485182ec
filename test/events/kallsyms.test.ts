import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { KernelSymbols, symbolLabel, symbolText } from '../../src/events/kallsyms.js';
import { norm } from '../../src/events/printfmt/num.js';
import { SymbolTable, type KSym } from '../../src/crash/kallsyms.js';

/** This kernel's /proc/kallsyms (read as root: real addresses). */
const text = readFileSync('/proc/kallsyms', 'utf8');
const listed: KSym[] = text.split('\n').filter(Boolean).map((line) => {
  const [addr, type, name, mod] = line.split(/\s+/) as [string, string, string, string | undefined];
  return { addr: BigInt('0x' + addr), type, name, ...(mod ? { module: mod.slice(1, -1) } : {}) };
});
/** What libtraceevent keeps: no absolute symbols, no '$' names. */
const code = listed.filter((s) => s.type !== 'a' && s.type !== 'A' && !s.name.startsWith('$'));
const namesAt = new Map<bigint, string[]>();
for (const s of code) namesAt.set(s.addr, [...(namesAt.get(s.addr) ?? []), s.name]);
const starts = [...namesAt.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const syms = new KernelSymbols(text);

test('this kernel\'s kallsyms has real addresses to test with', () => {
  assert.ok(starts.length > 10_000 && starts[0]! > 0n, `${starts.length} symbol addresses, the first ${starts[0]}`);
  assert.equal(syms.size, code.length);
});

test('an address names the symbol starting nearest at or below it; nothing below the first or past the last', () => {
  let checked = 0;
  for (let i = 0; i + 1 < starts.length; i += 7) {
    const s = starts[i]!;
    const next = starts[i + 1]!;
    for (const a of [s, next - 1n]) {
      const hit = syms.lookup(a);
      assert.ok(hit, `0x${a.toString(16)} is in a symbol`);
      assert.equal(hit.addr, s);
      assert.equal(hit.offset, a - s);
      assert.ok(namesAt.get(s)!.includes(hit.name), `${hit.name} starts at 0x${s.toString(16)}`);
      checked++;
    }
  }
  assert.ok(checked > 2_000);
  const first = starts[0]!;
  const last = starts[starts.length - 1]!;
  assert.equal(syms.lookup(first - 1n), undefined);
  assert.equal(syms.lookup(last)?.addr, last);
  assert.equal(syms.lookup(last + 1n), undefined, 'libtraceevent finds nothing past the last symbol');
  assert.equal(symbolText(syms, last + 1n, true), '0x' + (last + 1n).toString(16));
  // Records hold addresses as lkst numbers (negative below 2^53 for kernel addresses): the same hit.
  const mid = starts[starts.length >> 1]! + 3n;
  assert.deepEqual(syms.lookup(norm(mid)), syms.lookup(mid));
});

test('text in address order (arranged in one pass) and out of order (sorted) give the same table', () => {
  // Rotate the lines at an address change: equal addresses keep their relative order, as libtraceevent's stable sort sees them.
  const lines = text.split('\n').filter(Boolean);
  let k = lines.length >> 1;
  while (lines[k]!.split(' ')[0] === lines[k - 1]!.split(' ')[0]) k++;
  const rotated = new KernelSymbols([...lines.slice(k), ...lines.slice(0, k)].join('\n') + '\n');
  assert.equal(rotated.size, syms.size);
  for (const s of starts) {
    assert.equal(rotated.indexOf(s), syms.indexOf(s));
    assert.equal(rotated.nameAt(rotated.indexOf(s)), syms.nameAt(syms.indexOf(s)));
  }
});

test('a "\\t[module]" suffix names the symbol\'s module', () => {
  const inModules = code.filter((s) => s.module !== undefined && namesAt.get(s.addr)!.length === 1);
  assert.ok(inModules.length > 0, 'this kernel lists module (or ftrace trampoline) symbols');
  for (const s of inModules) assert.equal(syms.lookup(s.addr)?.module, s.module, s.name);
  const plain = code.find((s) => s.module === undefined && namesAt.get(s.addr)!.length === 1)!;
  assert.equal(syms.lookup(plain.addr)?.module, undefined);
  const m = inModules[0]!;
  assert.equal(symbolLabel(syms, m.addr, 0x100000n, true), `${m.name} [${m.module}]`);
});

test('symbolLabel: "name" at the start, "name+0xoff" inside, nothing beyond maxOffset', () => {
  const i = starts.findIndex((s, j) => j + 1 < starts.length && starts[j + 1]! - s > 0x20n && namesAt.get(s)!.length === 1);
  const s = starts[i]!;
  const name = namesAt.get(s)![0]!;
  assert.equal(symbolLabel(syms, s, 0x100000n), name);
  assert.equal(symbolLabel(syms, s + 0x10n, 0x100000n), `${name}+0x10`);
  assert.equal(symbolLabel(syms, s + 0x10n, 0xfn), undefined);
  assert.equal(symbolText(syms, s + 0x10n, true), `${name}+0x10`);
  assert.equal(symbolText(syms, s + 0x10n, false), name);
});

test('a crash dump\'s symbol table looks addresses up as a trace file\'s kallsyms does, and still finds names', () => {
  const table = new SymbolTable(listed);
  const fromText = new KernelSymbols(table.text());
  for (let i = 0; i < starts.length; i += 3) {
    const a = starts[i]! + 1n;
    assert.deepEqual(table.lookup(a), syms.lookup(a));
    assert.deepEqual(fromText.lookup(a), syms.lookup(a));
  }
  const sched = listed.find((s) => s.name === 'schedule')!;
  assert.equal(table.addr('schedule'), sched.addr);
  assert.equal(table.lookup(sched.addr + 4n)?.name, 'schedule');
});
