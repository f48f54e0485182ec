import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTraceDat } from '../../src/file/reader.js';
import { writeTraceDat } from '../../src/file/writer.js';
import { analysisInput } from '../../src/analysis/input.js';
import { forEachEvent, type PassLoss } from '../../src/analysis/stream.js';
import { countRecords } from '../../src/ringbuf/page.js';
import { capture } from '../helpers/capture.js';
import { lkst } from '../helpers/cli.js';
import { reportText } from '../report/report-output.js';

let dir: string;
let zstd: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkst-damaged-'));
  // Enough pages that trace-cmd writes several compressed chunks (10 pages each) per CPU.
  const cap = await capture({
    events: ['sched:sched_switch', 'sched:sched_waking', 'raw_syscalls:*'],
    bufferKb: 2048,
    workload: () => void spawnSync('sh', ['-c', 'for i in $(seq 1 40); do ls /proc >/dev/null; cat /proc/self/stat >/dev/null; done']),
  });
  const ours = join(dir, 'plain.dat');
  await writeTraceDat(ours, cap.meta, cap.cpus);
  zstd = join(dir, 'zstd.dat');
  const r = spawnSync('trace-cmd', ['convert', '-i', ours, '--compression', 'zstd', '-o', zstd], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function readAll(path: string): { events: number; perCpu: Map<number, number>; loss: PassLoss } {
  const tf = openTraceDat(path);
  try {
    const perCpu = new Map<number, number>();
    let loss: PassLoss | undefined;
    const events = forEachEvent(analysisInput(tf), { event: (ev) => void perCpu.set(ev.cpu, (perCpu.get(ev.cpu) ?? 0) + 1), done: (l) => (loss = l) });
    return { events, perCpu, loss: loss! };
  } finally {
    tf.close();
  }
}

/** Events in trace-cmd report's output: every line but the header and dropped-events lines. */
function traceCmdEvents(path: string): number {
  const r = spawnSync('trace-cmd', ['report', path], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('cpus=') && !/^\s*CPU:\d+ \[.*EVENTS DROPPED\]$/.test(l)).length;
}

test('one flipped bit in one zstd chunk skips that chunk only: the rest is read, the skipped pages make the loss uncertain', async (t) => {
  const tf = openTraceDat(zstd);
  const stream = tf.buffers[0]!.cpus.reduce((a, b) => ((b.runs?.flatMap((r) => r.chunks).length ?? 0) > (a.runs?.flatMap((r) => r.chunks).length ?? 0) ? b : a));
  const chunks = stream.runs!.flatMap((r) => r.chunks);
  assert.ok(chunks.length >= 3, `CPU ${stream.cpu} has ${chunks.length} compressed chunks`);
  // The events of the chunk to damage, from the intact pages.
  const pages = Buffer.concat([...stream.chunks()]);
  const victim = chunks[1]!;
  const from = chunks[0]!.rawSize;
  let inVictim = 0;
  for (let p = from; p < from + victim.rawSize; p += stream.pageSize) inVictim += countRecords(pages, p, stream.pageSize);
  tf.close();
  assert.ok(inVictim > 0, 'the damaged chunk held events');

  const whole = readAll(zstd);
  const bytes = Buffer.from(readFileSync(zstd));
  bytes[victim.at]! ^= 0x01; // the first byte of the chunk's zstd frame
  const damaged = join(dir, 'flipped.dat');
  writeFileSync(damaged, bytes);
  const got = readAll(damaged);
  assert.equal(got.events, whole.events - inVictim, 'every event but the damaged chunk\'s');
  const cpu = got.loss.cpus.find((c) => c.cpu === stream.cpu)!;
  assert.equal(cpu.exact, false);
  assert.match(cpu.uncertain!, new RegExp(`${victim.rawSize / stream.pageSize} damaged page\\(s\\) could not be read`));
  for (const c of got.loss.cpus.filter((c) => c.cpu !== stream.cpu)) assert.equal(c.exact, whole.loss.cpus.find((w) => w.cpu === c.cpu)!.exact);
  // The report's worker threads skip and count the damaged pages where one thread does.
  const one = await reportText(dir, damaged, { threads: 0 });
  const many = await reportText(dir, damaged, { threads: 2 });
  assert.ok(one.summary.corruptPages > 0, 'the report skipped the damaged pages');
  assert.ok(many.text === one.text, 'with worker threads the text differs');
  assert.deepEqual(many.summary, one.summary);

  // At least what trace-cmd reads of the same file; the report says what was skipped.
  const theirs = traceCmdEvents(damaged);
  t.diagnostic(`intact ${whole.events} events; damaged: lkst read ${got.events}, trace-cmd ${theirs}`);
  assert.ok(got.events >= theirs, `lkst read ${got.events}, trace-cmd ${theirs}`);
  const r = lkst(['report', damaged]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /uncertain: .*damaged page\(s\) could not be read/);
  assert.match(r.stderr, /corrupt pages were skipped/);
});
