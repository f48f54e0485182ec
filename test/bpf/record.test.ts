// lkst's BPF record handler on a real tracepoint: every event ftrace records, the BPF program
// records too, with the same fields, at the same time on the `mono` clock; its records become
// ring-buffer pages the page decoder reads back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileBpf } from '../../src/bpf/compile.js';
import { recordProgramSource } from '../../src/bpf/codegen.js';
import { bpfTraceBuffer, readRecordFile, writeRecordPages, type BpfRecord } from '../../src/bpf/record-stream.js';
import { CpuReader } from '../../src/record/cpu-reader.js';
import { collectLiveMeta } from '../../src/record/live-meta.js';
import { writeTraceDat } from '../../src/file/writer.js';
import { lkst } from '../helpers/cli.js';
import { BpfRun } from '../../src/bpf/runner.js';
import { readLiveFormat } from '../../src/events/live.js';
import { readFields, recordType } from '../../src/ringbuf/fields.js';
import { forEachRecord } from '../../src/ringbuf/page.js';
import { withInstance } from '../helpers/instance.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';

const skip = tracepointBpfSkip();
const COPIES = 20_000;

test('the BPF record handler records what ftrace records on the same tracepoint: same events, fields and times (mono clock)', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpfrec-'));
  try {
    await withInstance('bpf-rec', async (inst) => {
      const fmt = readLiveFormat('raw_syscalls', 'sys_enter');
      const src = join(dir, 'record.bpf.c');
      writeFileSync(src, recordProgramSource([fmt]));
      compileBpf(src, join(dir, 'record.o'));
      inst.bufferSizeKb = 16384;
      inst.clock = 'mono';
      inst.setFilter('raw_syscalls', 'sys_enter', 'id == 0 || id == 1');
      inst.setEventEnabled('raw_syscalls', 'sys_enter', true);
      const run = new BpfRun(join(dir, 'record.o'), dir);
      let dd: number;
      try {
        assert.equal(await run.started(), 1);
        inst.tracingOn = true;
        const r = spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${COPIES}`], { stdio: 'ignore' });
        dd = r.pid;
        inst.tracingOn = false;
      } finally {
        inst.setEventEnabled('raw_syscalls', 'sys_enter', false);
      }
      const res = await run.finish();
      assert.equal(res.malformed, 0);
      assert.equal(res.cpus.reduce((n, c) => n + c.lost, 0), 0, 'the ring buffer kept up');

      // BPF's records of dd's reads and writes.
      const all: BpfRecord[] = [];
      const ours: { ts: number; id: number }[] = [];
      const pidAt = fmt.fieldByName.get('common_pid')!.offset;
      for (const c of res.cpus) {
        if (!existsSync(run.recordFile(c.cpu))) continue;
        const recs = readRecordFile(run.recordFile(c.cpu));
        assert.equal(recs.length, c.written, `CPU ${c.cpu}: the file holds what the runner wrote`);
        for (const r of recs) all.push(r);
        for (const r of recs) {
          if (recordType(r.data, 0) !== fmt.id) assert.fail(`a record of type ${recordType(r.data, 0)}`);
          const id = Number(readFields(r.data, 0, r.data.length, fmt)['id']);
          if (r.data.readInt32LE(pidAt) === dd! && (id === 0 || id === 1)) ours.push({ ts: Number(r.ts), id });
        }
      }
      // ftrace's, from the instance's text (µs times).
      const theirs = inst
        .read('trace')
        .split('\n')
        .map((l) => new RegExp(`-${dd!}\\s+\\[\\d+\\].*?(\\d+)\\.(\\d{6}): sys_enter: NR (\\d+) `).exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ us: Number(m[1]) * 1e6 + Number(m[2]), id: Number(m[3]) }));
      assert.ok(theirs.length >= 2 * COPIES, `ftrace saw ${theirs.length} of dd's reads and writes`);
      ours.sort((a, b) => a.ts - b.ts);
      assert.equal(ours.length, theirs.length, `the same events (BPF wrote ${JSON.stringify(res.cpus)}, ${all.length} records read, dd pid ${dd!}, pids seen ${[...new Set(all.map((r) => r.data.readInt32LE(pidAt)))].slice(0, 20).join(',')})`);
      assert.deepEqual(
        ours.map((o) => o.id),
        theirs.map((t) => t.id),
        'in the same order, with the same syscall numbers',
      );
      // The same clock: each BPF stamp lies between dd's previous and next syscall as ftrace stamped them
      // (µs in the text). Not a fixed distance: the two probes of one event may be preempted apart.
      // The text rounds to the nearest µs (the kernel's ns2usecs adds 500 ns): a stamp may lie up to
      // half a µs before a previous syscall's printed time (seen where syscalls came 0.4 µs apart).
      const worst = Math.max(...ours.map((o, i) => Math.abs(o.ts / 1000 - theirs[i]!.us)));
      t.diagnostic(`${ours.length} of dd's syscalls in both; times at most ${worst.toFixed(1)} µs apart; ${all.length} BPF records in all`);
      ours.forEach((o, i) => {
        const us = o.ts / 1000;
        const before = i > 0 ? theirs[i - 1]!.us - 0.5 : -Infinity;
        const next = i + 1 < theirs.length ? theirs[i + 1]!.us + 0.5 : Infinity;
        if (!(us >= before && us <= next)) assert.fail(`dd's syscall ${i} stamped ${us} µs by BPF, outside ftrace's ${before}..${next}`);
      });

      // A trace.dat with the instance's pages on top and the BPF records as the buffer 'bpf': trace-cmd
      // and lkst read dd's events from both, and count nothing lost.
      const mainCpus = inst.cpus().map((cpu) => {
        const path = join(dir, `top-cpu${cpu}.pages`);
        const r = new CpuReader(cpu, inst.rawPipePath(cpu), 4096, path);
        r.drain();
        r.close();
        return { cpu, source: path };
      });
      const meta = collectLiveMeta(inst, [{ system: 'raw_syscalls', event: 'sys_enter' }], 4096);
      const extra = bpfTraceBuffer(res.cpus, (c) => run.recordFile(c), dir, 4096);
      const file = join(dir, 'both.dat');
      await writeTraceDat(file, meta, mainCpus, { buffers: [extra.buffer] });
      const ddLines = (text: string) => text.split('\n').filter((l) => new RegExp(`-${dd!}\\s+\\[\\d+\\].*sys_enter:\\s+NR [01] `).test(l)).length;
      const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
      assert.equal(tc.status, 0, tc.stderr);
      assert.equal(ddLines(tc.stdout), 2 * ours.length, "trace-cmd prints dd's events from both buffers");
      const ours2 = lkst(['report', file], { maxBuffer: 1 << 30 });
      assert.equal(ours2.status, 0, ours2.stderr);
      assert.equal(ddLines(ours2.stdout), 2 * ours.length, "lkst report prints dd's events from both buffers");
      const st = JSON.parse(lkst(['stats', '--json', file]).stdout) as { events: number; lostTotal: number; lostExact: boolean };
      assert.deepEqual([st.lostTotal, st.lostExact], [0, true]);
      assert.ok(st.events >= all.length + theirs.length, `${st.events} events in the file`);

      // The records as pages: the decoder reads back every one, in time order.
      const byCpu = new Map<number, BpfRecord[]>();
      for (const c of res.cpus) if (existsSync(run.recordFile(c.cpu))) byCpu.set(c.cpu, readRecordFile(run.recordFile(c.cpu)));
      let paged = 0;
      for (const [cpu, recs] of byCpu) {
        const pages = join(dir, `cpu${cpu}.pages`);
        const w = writeRecordPages(recs, 4096, pages);
        const buf = readFileSync(pages);
        let last = 0;
        for (let off = 0; off < buf.length; off += 4096)
          forEachRecord(buf, off, 4096, (ts) => {
            assert.ok(ts >= last);
            last = ts;
            paged++;
          });
        assert.equal(w.records, recs.length);
      }
      assert.equal(paged, all.length);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
