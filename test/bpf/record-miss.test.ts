// Events the kernel runs no BPF program for (its recursion guard: a tracepoint/ program is skipped
// while another BPF program runs on that CPU) are lost where they happened: per CPU when a guard
// program counted them, else as uncertain ("CPU not known"), the same figures in the recording's
// summary, `lkst stats` and `lkst report`.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lkst } from '../helpers/cli.js';
import { masksetSetup, tracepointBpfSkip } from '../helpers/bpf.js';
import { detectBpf } from '../../src/bpf/features.js';

const skip = tracepointBpfSkip() || (detectBpf().kinds.tp_btf !== true ? 'tp_btf programs do not load here' : false);

// dd's writes run a tracepoint/ program (syscalls:* events have no tp_btf form); the tick's timer
// and softirq events that interrupt it are skipped by the kernel while it runs.
const MASKSET = ['syscalls:sys_enter_write record engine=bpf', 'timer:hrtimer_expire_entry record engine=bpf', 'irq:softirq_entry record engine=bpf', ''].join('\n');

const num = (s: string | undefined) => Number((s ?? '0').replace(/,/g, ''));

interface Stats {
  lostTotal: number;
  lostExact: boolean;
  lostUncertain: string[];
  byCpu: { buffer: string; cpu: number; lost: number; lostExact: boolean }[];
}

for (const guards of [true, false]) {
  test(`recursion-guard misses ${guards ? 'per CPU (guard programs)' : 'with no guard: uncertain, CPU not known'}, equal in the recording's summary, stats and report`, { skip }, (t) => {
    const { dir, env } = masksetSetup({ miss: MASKSET }, 'lkst-bpfmiss-');
    try {
      const file = join(dir, 'miss.dat');
      const runEnv = { ...env, ...(guards ? {} : { LKST_BPF_GUARDS: '0' }) };
      const r = lkst(['record', '-m', 'miss', '-o', file, '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=300000'], { env: runEnv, timeoutMs: 180_000 });
      assert.equal(r.status, 0, r.stderr);
      const rec = /BPF records: ([\d,]+) in buffer bpf, (?:([\d,]+) LOST|none lost)/.exec(r.stderr);
      assert.ok(rec, r.stderr);
      const summaryLost = num(rec[2]);
      const missLine = /BPF handlers: ([\d,]+) events LOST.*\): (.*)$/m.exec(r.stderr);
      const perCpu = new Map([...(missLine?.[2] ?? '').matchAll(/CPU (\d+): ([\d,]+)/g)].map((m) => [Number(m[1]), num(m[2])]));
      const unknown = num(/([\d,]+) missed by the kernel's BPF recursion guard, CPU not known/.exec(missLine?.[2] ?? '')?.[1]);
      const ringLost = num(/([\d,]+): the BPF ring buffer was full/.exec(r.stderr)?.[1]);
      t.diagnostic(`summary: ${summaryLost} lost in buffer bpf (ring ${ringLost}); misses per CPU ${JSON.stringify([...perCpu])}, CPU not known ${unknown}`);
      assert.equal(summaryLost, ringLost + num(missLine?.[1]), 'the buffer line counts the ring and the guard');
      assert.equal(num(missLine?.[1]), [...perCpu.values()].reduce((n, x) => n + x, 0) + unknown, 'the misses add up');
      if (!guards) assert.equal(perCpu.size, 0, 'no CPU is named without guards');

      const st = JSON.parse(lkst(['stats', '--json', file], { env }).stdout) as Stats;
      const bpfRows = st.byCpu.filter((c) => c.buffer === 'bpf');
      assert.equal(st.lostTotal, summaryLost, 'stats: the same total');
      assert.equal(st.lostExact, unknown === 0, 'stats: exact unless some CPU is not known');
      if (unknown) assert.ok(st.lostUncertain.some((u) => u.includes(`${unknown.toLocaleString('en-US')} missed by the kernel's BPF recursion guard, CPU not known`)), st.lostUncertain.join('\n'));
      // Per CPU: each guard-counted miss is in its CPU's row (the ring's own losses are per CPU too).
      if (!ringLost) for (const c of bpfRows) assert.equal(c.lost - (c.lostExact ? 0 : unknown), perCpu.get(c.cpu) ?? 0, `stats: CPU ${c.cpu}`);

      const rep = lkst(['report', file], { env, maxBuffer: 1 << 30 });
      assert.equal(rep.status, 0, rep.stderr);
      if (summaryLost) assert.match(rep.stderr, new RegExp(`lkst: ${unknown ? 'at least ' : ''}${summaryLost.toLocaleString('en-US')} lost`));
      if (unknown) assert.match(rep.stderr, /uncertain: buffer bpf CPU \d+: [\d,]+ missed by the kernel's BPF recursion guard, CPU not known/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
