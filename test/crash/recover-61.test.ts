// End to end: a real 6.1 kernel crashes under QEMU; lkst recovers its trace buffers from the dump.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { writeRecovery } from '../../src/crash/command.js';
import { recoverCommand, registerRecover } from '../../src/cli/commands/recover.js';
import { openTrace as openAnyTrace } from '../../src/sources/open.js';
import { openTraceDat } from '../../src/file/reader.js';
import { readFields } from '../../src/ringbuf/fields.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { isDumpFile, openDump } from '../../src/crash/open.js';
import { openKernel, recoverFromDump, recoverFromMemory, type Recovery } from '../../src/crash/recover.js';
import { LkstError } from '../../src/base/errors.js';
import { assertCountsMatchGuest, hidePages, markers } from './checks.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';
import { lkst } from '../helpers/cli.js';

const kernel = fetchKernel('6.1');
const skip = 'skip' in kernel ? kernel.skip : false;

describe('lkst recover on a crashed Debian 6.1 kernel (KASLR on)', { skip }, () => {
  let g: CrashedGuest;
  let elf: Recovery;
  before(async () => {
    g = await crashedGuest((kernel as { dir: string }).dir, { kaslr: true, formats: ['elf', 'kdump-zlib'], raw: true });
    elf = recoverFromDump(g.dumps.elf!);
  });
  after(() => {
    elf?.close();
    g?.cleanup();
  });

  test('the ELF dump gives back the nonce, both buffers and the exact per-CPU counts', (t) => {
    // The kernel picks the KASLR offset and may pick 0; the nonce and exact counts prove the translation.
    if (elf.summary.kaslrOffset === 0n) t.diagnostic('the guest kernel chose KASLR offset 0 on this boot');
    assert.deepEqual(elf.buffers.map((b) => b.name), ['top', 'lkst', 'lkst2', 'lkst3']);
    assert.ok(markers(elf, 'top').includes(`lkst-nonce=${g.nonce}`));
    assert.ok(markers(elf, 'lkst').includes(`lkst-inst-nonce=${g.nonce}`));
    assertCountsMatchGuest(elf, g);
    assert.deepEqual(elf.summary.warnings, []);
  });

  test('kdump-compressed (flattened by QEMU, and plain after makedumpfile -R) and the raw image give the same', () => {
    const flat = recoverFromDump(g.dumps['kdump-zlib']!);
    assert.equal(flat.summary.format, 'kdump-flat');
    assertCountsMatchGuest(flat, g);
    assert.ok(markers(flat, 'top').includes(`lkst-nonce=${g.nonce}`));
    const raw = recoverFromDump(g.dumps.raw!);
    assert.equal(raw.summary.format, 'raw');
    assertCountsMatchGuest(raw, g);
    assert.ok(markers(raw, 'lkst').includes(`lkst-inst-nonce=${g.nonce}`));
    const plain = join(g.dir, 'plain.kdump');
    execFileSync('sh', ['-c', `makedumpfile -R "${plain}" < "${g.dumps['kdump-zlib']}"`], { stdio: 'ignore' });
    const p = recoverFromDump(plain);
    assert.equal(p.summary.format, 'kdump');
    assertCountsMatchGuest(p, g);
  });

  test('a buffer a reader had half consumed gives back only what was not read', () => {
    const read = [...g.stats.get('lkst2')!.values()].reduce((n, s) => n + s.read, 0);
    assert.ok(read > 0, 'the guest consumed events');
    // Exactly the 40 markers less those the reader took, then the nonce written after the read.
    const m = markers(elf, 'lkst2');
    assert.equal(m.filter((x) => x.startsWith('lkst-read ')).length, 40 - read);
    assert.ok(m.includes(`lkst-read-nonce=${g.nonce}`));
  });

  test('the small instance wrapped: its newest markers survive, the oldest are gone', () => {
    const lkst = g.stats.get('lkst')!;
    assert.ok([...lkst.values()].some((s) => s.overrun > 0), 'the guest saw overruns');
    // 400 markers of ~100 bytes cannot fit in 2 CPUs x 3 pages, whichever CPUs the writer ran on.
    const m = markers(elf, 'lkst').filter((x) => x.startsWith('lkst-fill'));
    assert.ok(m.length > 0 && m.length < 400, `${m.length} markers survive`);
    assert.ok(m.includes('lkst-fill 399 ............................................................'));
  });

  test('the written trace.dat opens in trace-cmd report with the nonce', async () => {
    const out = join(g.dir, 'rec.dat');
    let text = '';
    await recoverCommand(g.dumps.elf!, { output: out }, (t) => (text = t));
    assert.match(text, /buffer top .*events/);
    assert.match(text, /last events of buffer top before the crash/);
    assert.match(text, /panic at [0-9.]+: Kernel panic/);
    // lkst's own reader: every buffer, the nonces, and the lost counts of the wrapped instance.
    const file = openTraceDat(out);
    try {
      assert.deepEqual(file.buffers.map((b) => b.name).sort(), ['', 'lkst', 'lkst2', 'lkst3']);
      const prints = (name: string) => {
        const b = file.buffers.find((x) => x.name === name)!;
        const got: string[] = [];
        for (const c of b.cpus) {
          for (const chunk of c.chunks()) {
            for (let at = 0; at < chunk.length; at += b.pageSize) {
              forEachRecord(chunk, at, b.pageSize, (_ts, off, len) => {
                const f = file.registry.get(chunk.readUInt16LE(off));
                if (f?.name === 'print') got.push(String(readFields(chunk, off, len, f).buf).trim());
              });
            }
          }
        }
        return got;
      };
      assert.ok(prints('').includes(`lkst-nonce=${g.nonce}`));
      assert.ok(prints('lkst').includes(`lkst-inst-nonce=${g.nonce}`));
      const lost = file.buffers.find((x) => x.name === 'lkst')!.cpus.reduce((n, c) => n + (c.counters.end?.overrun ?? 0), 0);
      assert.equal(lost, [...g.stats.get('lkst')!.values()].reduce((n, s) => n + s.overrun, 0));
      assert.match(file.meta.kallsyms, / T _stext\n/);
    } finally {
      file.close();
    }
    if (!existsSync('/usr/bin/trace-cmd')) return;
    const rep = execFileSync('trace-cmd', ['report', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.match(rep, new RegExp(`lkst-nonce=${g.nonce}`));
    assert.match(rep, new RegExp(`lkst: .*lkst-inst-nonce=${g.nonce}`));
  });

  test('the recover command registers on a commander program and writes its file', async () => {
    const program = new Command().exitOverride();
    registerRecover(program);
    const out = join(g.dir, 'cli.dat');
    const log: string[] = [];
    const orig = console.log;
    console.log = (t: string) => log.push(t);
    try {
      await program.parseAsync(['node', 'lkst', 'recover', g.dumps['kdump-zlib']!, '-o', out, '--last', '3', '--json']);
    } finally {
      console.log = orig;
    }
    const sum = JSON.parse(log.join('\n')) as { format: string; lastEvents: Array<{ buffer: string }> };
    assert.equal(sum.format, 'kdump-flat');
    assert.equal(sum.lastEvents.filter((e) => e.buffer === 'top').length, 3);
    assert.ok(statSync(out).size > 0);
  });

  test('the CLI reads a dump directly: lkst report DUMP shows the nonce, lkst stats DUMP counts the events', () => {
    const rep = lkst(['report', g.dumps.elf!]);
    assert.equal(rep.status, 0, rep.stderr);
    assert.match(rep.stdout, new RegExp(`print: .*lkst-nonce=${g.nonce}`));
    const st = lkst(['stats', g.dumps['kdump-zlib']!]);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /Events per type/);
  });

  test('dumps are told from trace files and read in place: report and stats of a dump write no temporary file', async () => {
    assert.equal(isDumpFile(g.dumps.elf!), true);
    assert.equal(isDumpFile(g.dumps['kdump-zlib']!), true);
    const t = await openAnyTrace(g.dumps.elf!);
    try {
      assert.equal(t.kind, 'dump');
      assert.equal(t.buffers.length, 4);
    } finally {
      t.close();
    }
    // Every temporary place a report could write to is an empty directory of the test's own.
    const scratch = mkdtempSync(join(g.dir, 'tmp-'));
    for (const args of [['report', g.dumps.elf!], ['stats', g.dumps['kdump-zlib']!]]) {
      const r = lkst(args, { cwd: scratch, env: { ...process.env, TMPDIR: scratch } });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readdirSync(scratch), [], `lkst ${args[0]} of a dump wrote files`);
    }
  });

  test('a truncated dump fails with one clear line, or says what it lost, never crashes', () => {
    const cut = join(g.dir, 'cut.elf');
    const full = statSync(g.dumps.elf!).size;
    const total = (r: Recovery) => r.summary.buffers.reduce((n, b) => n + b.cpus.reduce((m, c) => m + c.events, 0), 0);
    for (const frac of [0.001, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
      copyFileSync(g.dumps.elf!, cut);
      truncateSync(cut, Math.floor(full * frac));
      try {
        const r = recoverFromDump(cut);
        // Whatever came back is either complete or its losses are named.
        if (total(r) !== total(elf)) assert.ok(r.summary.warnings.length > 0, `cut at ${frac}: losses reported`);
      } catch (e) {
        assert.ok(e instanceof LkstError, `cut at ${frac}: ${String(e)}`);
        assert.ok(!e.message.includes('\n'));
      }
    }
  });

  test('pages filtered out of the dump are named as lost, the rest is still recovered', () => {
    const top = elf.buffers.find((b) => b.name === 'top')!;
    const mem = openDump(g.dumps.elf!);
    try {
      const k = openKernel(mem);
      const hidden = new Set(top.cpus[0].pageAddrs.map((a) => Math.floor(k.mem.translate(a)! / 4096)));
      const filtered = hidePages(mem, (pfn) => hidden.has(pfn));
      const r = recoverFromMemory(filtered, 'filtered');
      const cpu0 = r.summary.buffers[0].cpus.find((c) => c.cpu === 0)!;
      assert.equal(cpu0.events, 0);
      assert.equal(cpu0.missingPages, top.cpus[0].pageCount);
      assert.ok(r.summary.warnings.some((w) => /top: cpu0: \d+ page\(s\) not in the dump/.test(w)));
      assert.ok(markers(r, 'lkst').includes(`lkst-inst-nonce=${g.nonce}`), 'other buffers still recovered');
    } finally {
      mem.close();
    }
  });

  test('--system-map gives the symbols; a kernel without ftrace symbols is refused clearly', () => {
    const map = join(g.dir, 'System.map');
    writeFileSync(map, elf.buffers[0].meta.kallsyms.split('\n').filter((l) => !l.includes('\t[')).join('\n'));
    const viaMap = recoverFromDump(g.dumps.elf!, { systemMap: map });
    assertCountsMatchGuest(viaMap, g);
    writeFileSync(map, elf.buffers[0].meta.kallsyms.split('\n').filter((l) => !/ (global_trace|ftrace_events)$/.test(l)).join('\n'));
    assert.throws(() => recoverFromDump(g.dumps.elf!, { systemMap: map }), (e: unknown) => e instanceof LkstError && /no ftrace/.test(e.message));
  });

  test('BTF missing from the dump: a clear error, and --kernel VMLINUZ (LZ4) supplies it', () => {
    const mem = openDump(g.dumps.elf!);
    try {
      const k = openKernel(mem);
      const start = k.syms.addr('__start_BTF');
      const first = Math.floor(k.mem.translate(start)! / 4096);
      const hide = hidePages(mem, (pfn) => pfn >= first && pfn <= first + 4);
      assert.throws(() => recoverFromMemory(hide, 'nobtf'), (e: unknown) => e instanceof LkstError && /not in the dump/.test(e.message));
      const vmlinuz = join(g.kernelDir, 'boot', readdirSync(join(g.kernelDir, 'boot')).find((f) => f.startsWith('vmlinuz-'))!);
      const r = recoverFromMemory(hide, 'nobtf', { kernel: vmlinuz });
      assertCountsMatchGuest(r, g);
    } finally {
      mem.close();
    }
  });

  test('event formats unreadable in the dump: raw ids and a warning; --formats-from a trace of the same build fills them', async () => {
    const donor = join(g.dir, 'donor.dat');
    await writeRecovery(elf, donor);
    const mem = openDump(g.dumps.elf!);
    try {
      const k = openKernel(mem);
      const page = Math.floor(k.mem.translate(k.syms.addr('ftrace_events'))! / 4096);
      const hide = hidePages(mem, (pfn) => pfn === page);
      const bare = recoverFromMemory(hide, 'noformats');
      assert.ok(bare.summary.warnings.some((w) => /^event formats: memory at/.test(w)), bare.summary.warnings.join('; '));
      assert.ok(bare.summary.warnings.some((w) => /no format for event id/.test(w)));
      assertCountsMatchGuest(bare, g);
      const filled = recoverFromMemory(hide, 'noformats', { formatsFrom: donor });
      assert.ok(markers(filled, 'top').includes(`lkst-nonce=${g.nonce}`));
      assert.ok(!filled.summary.warnings.some((w) => /no format for event id/.test(w)));
    } finally {
      mem.close();
    }
  });

  test('the panic is found in the kernel log', () => {
    assert.match(elf.summary.panic?.message ?? '', /Kernel panic - not syncing: sysrq triggered crash/);
    const last = Math.max(...elf.summary.buffers[0].cpus.map((c) => c.lastTs ?? 0));
    assert.ok(elf.summary.panic!.ts >= last, 'the panic comes after the last top-level event');
  });

  test('a dump of another architecture and a non-dump are refused clearly', () => {
    const arm = join(g.dir, 'arm.elf');
    const h = Buffer.alloc(64);
    h.writeUInt32BE(0x7f454c46, 0);
    h[4] = 2; h[5] = 1; h[6] = 1;
    h.writeUInt16LE(4, 16);
    h.writeUInt16LE(183, 18);
    writeFileSync(arm, h);
    assert.throws(() => recoverFromDump(arm), (e: unknown) => e instanceof LkstError && /another architecture \(aarch64\)/.test(e.message));
    const junk = join(g.dir, 'junk.bin');
    closeSync(openSync(junk, 'w'));
    writeFileSync(junk, Buffer.alloc(8192, 0x41));
    assert.throws(() => recoverFromDump(junk), (e: unknown) => e instanceof LkstError);
  });
});
