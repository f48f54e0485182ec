// Never pass on damage: ring-buffer pages of a real crash dump are damaged the ways memory goes bad
// (a page of 0xff, a bad commit, records past the commit, garbage, a page time out of order, seeded
// mutations); each recovery cuts or drops them, counts their events as lost on that CPU, and writes a
// file trace-cmd reads with the same events per CPU as lkst does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeRecovery } from '../../src/crash/command.js';
import { FileAccess, type RandomAccess } from '../../src/crash/file-io.js';
import { listTraceArrays } from '../../src/crash/ftrace.js';
import { openDumpAccess } from '../../src/crash/open.js';
import { openKernel, recoverFromDump } from '../../src/crash/recover.js';
import { readRingBuffer } from '../../src/crash/ringbuffer.js';
import { traceOfRecovery } from '../../src/crash/source.js';
import { openTraceDat } from '../../src/file/reader.js';
import { forEachRecord, readPageHeader } from '../../src/ringbuf/page.js';
import { lossCountersOfStats, recordingLost } from '../../src/trace/loss.js';
import type { Trace } from '../../src/trace/model.js';
import { mutate, rng } from '../file/mutate.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';

const kernel = fetchKernel('6.1');
const skip = 'skip' in kernel ? kernel.skip : false;
const PAGE = 4096;

interface RingPage { buffer: string; cpu: number; index: number; last: boolean; fileOff: number }

/** Where each ring-buffer data page of an ELF or raw dump lies in the file (logged while it is read). */
function ringPages(path: string): RingPage[] {
  const file = new FileAccess(path);
  const offs: number[] = [];
  const logged: RandomAccess = { size: file.size, read: (o, n) => (offs.push(o), file.read(o, n)), close: () => file.close() };
  const mem = openDumpAccess(logged, path);
  try {
    const k = openKernel(mem);
    const out: RingPage[] = [];
    for (const tr of listTraceArrays(k)) {
      for (const c of readRingBuffer(k, tr.buffer).cpus) {
        for (let i = 0; i < c.pageCount; i++) {
          offs.length = 0;
          mem.read(k.mem.translate(c.pageAddrs[i]!)!, PAGE);
          assert.equal(offs.length, 1, 'a page is one read of the file');
          out.push({ buffer: tr.name, cpu: c.cpu, index: i, last: i === c.pageCount - 1, fileOff: offs[0]! });
        }
      }
    }
    return out;
  } finally {
    mem.close();
  }
}

/** Events and lost-event marks per "buffer/cpu", as `trace-cmd report` shows them. */
function tracecmdCounts(path: string, instances: string[]): Map<string, { events: number; marks: number }> {
  const r = spawnSync('trace-cmd', ['report', path], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.signal, null, `trace-cmd report died of ${r.signal}`);
  assert.equal(r.status, 0, `trace-cmd report failed: ${r.stderr}`);
  const out = new Map<string, { events: number; marks: number }>();
  // trace-cmd 3.1 prints the event after an instance's lost-events line without the instance's name.
  let afterMark: string | undefined;
  for (const line of r.stdout.split('\n')) {
    const t = line.trimStart();
    const inst = instances.find((n) => t.startsWith(`${n}: `)) ?? afterMark;
    afterMark = undefined;
    const rest = inst && t.startsWith(`${inst}: `) ? t.slice(inst.length + 2) : t;
    const mark = /^\s*CPU:(\d+) \[(\d+ )?EVENTS DROPPED\]/.exec(rest);
    const ev = /\[(\d{3,})\]\s+\d+\.\d+:/.exec(rest);
    if (!mark && !ev) continue;
    const key = `${inst ?? 'top'}/${Number((mark ?? ev)![1])}`;
    const c = out.get(key) ?? { events: 0, marks: 0 };
    if (mark) {
      c.marks++;
      afterMark = inst;
    } else c.events++;
    out.set(key, c);
  }
  return out;
}

/** Events and flagged pages per "buffer/cpu" of a trace, as lkst reads it. */
function ourCounts(t: Trace): Map<string, { events: number; marks: number }> {
  const out = new Map<string, { events: number; marks: number }>();
  for (const b of t.buffers) {
    for (const s of b.cpus) {
      const c = { events: 0, marks: 0 };
      for (const chunk of s.chunks()) {
        for (let p = 0; p < chunk.length; p += s.pageSize) {
          if (readPageHeader(chunk, p).missedEvents) c.marks++;
          forEachRecord(chunk, p, s.pageSize, () => c.events++);
        }
      }
      if (c.events || c.marks) out.set(`${b.name || 'top'}/${s.cpu}`, c);
    }
  }
  return out;
}

describe('damaged ring-buffer pages in a real dump are cut or dropped, counted as lost, and every output opens in trace-cmd', { skip }, () => {
  let g: CrashedGuest;
  let work: string;
  let dump: string;
  let pages: RingPage[];
  before(async () => {
    g = await crashedGuest((kernel as { dir: string }).dir, { formats: ['elf'] });
    work = mkdtempSync('/dev/shm/lkst-dumpdamage-');
    dump = join(work, 'vmcore.elf');
    copyFileSync(g.dumps.elf!, dump);
    pages = ringPages(dump);
  });
  after(() => {
    g?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Rewrites one page of the working copy with damage(page), recovers, checks, and puts the page back. */
  async function withDamage(p: RingPage, how: string, damage: (page: Buffer) => Buffer): Promise<void> {
    const fd = openSync(dump, 'r+');
    const orig = Buffer.alloc(PAGE);
    readSync(fd, orig, 0, PAGE, p.fileOff);
    try {
      writeSync(fd, damage(Buffer.from(orig)), 0, PAGE, p.fileOff);
      const what = `${how} on ${p.buffer} cpu${p.cpu} page ${p.index}`;
      const rec = recoverFromDump(dump);
      const out = join(work, 'out.dat');
      try {
        await writeRecovery(rec, out);
        if (process.env.LKST_DAMAGE_KEEP) copyFileSync(out, join(process.env.LKST_DAMAGE_KEEP, `${how.replace(/\W+/g, '-')}.dat`));
        const src = ourCounts(traceOfRecovery(rec, dump));
        const file = openTraceDat(out);
        try {
          const mine = ourCounts(file);
          assert.deepEqual(mine, src, `${what}: the file holds what the dump source gives`);
          const instances = file.buffers.map((b) => b.name).filter((n) => n).sort((a, b) => b.length - a.length);
          assert.deepEqual(tracecmdCounts(out, instances), mine, `${what}: trace-cmd shows the same events and marks per CPU`);
          for (const b of rec.summary.buffers) {
            const fb = file.buffers.find((x) => (x.name || 'top') === b.name)!;
            for (const c of b.cpus) {
              const want = g.stats.get(b.name)?.get(c.cpu)?.entries ?? 0;
              if (c.damagedPages || c.missingPages) assert.notEqual(c.damageLost, undefined, `${what}: ${b.name} cpu${c.cpu}: the counters give the damage's size`);
              assert.equal(c.events + (c.damageLost ?? 0), want, `${what}: ${b.name} cpu${c.cpu}: kept + lost = what the kernel held`);
              const lost = recordingLost(lossCountersOfStats(fb.cpus.find((s) => s.cpu === c.cpu)?.statsText));
              assert.equal(lost, c.damageLost ?? 0, `${what}: ${b.name} cpu${c.cpu}: the file counts the damage's events as lost`);
            }
          }
          const hit = rec.summary.buffers.find((b) => b.name === p.buffer)!.cpus.find((c) => c.cpu === p.cpu)!;
          assert.ok(hit.damagedPages > 0 || (hit.damageLost ?? 0) === 0, `${what}: the damaged page was seen (${rec.summary.warnings.join('; ')})`);
          if (hit.damagedPages && (hit.damageLost ?? 0) > 0 && !p.last) {
            assert.ok((mine.get(`${p.buffer}/${p.cpu}`)?.marks ?? 0) > 0, `${what}: a lost-events mark where the damage was`);
          }
        } finally {
          file.close();
        }
      } finally {
        rec.close();
      }
    } finally {
      writeSync(fd, orig, 0, PAGE, p.fileOff);
      closeSync(fd);
    }
  }

  const pick = (f: (p: RingPage) => boolean) => pages.find(f) ?? pages[0]!;

  test('the named damages: 0xff page, bad commit, commit past the records, records past the commit, garbage, page time out of order', async () => {
    assert.ok(pages.length >= 4, 'the dump has ring pages to damage');
    const notLast = pick((p) => !p.last);
    const wrapped = pick((p) => p.buffer === 'lkst' && p.index === 1);
    await withDamage(notLast, '0xff page', (b) => b.fill(0xff));
    await withDamage(wrapped, 'commit beyond the page', (b) => (b.writeBigUInt64LE(0x10000n, 8), b));
    await withDamage(notLast, 'commit over the unused end', (b) => (b.writeBigUInt64LE(BigInt(PAGE - 16), 8), b));
    await withDamage(wrapped, 'records past the commit', (b) => (b.writeBigUInt64LE(b.readBigUInt64LE(8) - 3n, 8), b));
    await withDamage(notLast, 'garbage in the records', (b) => b.fill(0x5a, 200, 264));
    await withDamage(notLast, 'page time far ahead of the next page', (b) => (b.writeBigUInt64LE(1n << 60n, 0), b));
    await withDamage(pick((p) => p.index === 0 && p.last), 'only page of a CPU zeroed', (b) => b.fill(0));
  });

  test('seeded mutations of ring pages', async () => {
    for (let seed = 1; seed <= Number(process.env.LKST_DAMAGE_SEEDS ?? 12); seed++) {
      const r = rng(seed);
      const p = pages[r(pages.length)]!;
      await withDamage(p, `seed ${seed}`, (b) => {
        const m = mutate(b, r).bytes;
        const out = Buffer.alloc(PAGE);
        m.copy(out, 0, 0, Math.min(PAGE, m.length));
        return out;
      });
    }
  });
});
