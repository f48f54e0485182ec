// A killed lkst logd loses nothing: the next one writes the segments it left, and its first file
// begins where theirs ended. A SIGHUP while it sets up does not kill it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { CLI, lkst } from '../helpers/cli.js';
import { reportedSeqs, seqBuffer, sleep, startSeqWorkload, stopChild, withBufferNames } from './helpers.js';

function startLogd(name: string, dir: string, pidFile: string): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, 'logd', '-b', name, '-d', dir, '--pid-file', pidFile, '--no-kallsyms', '--max-size', '0.25', '--poll', '50'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { child, stderr: () => err };
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 50) await sleep(50);
  assert.ok(cond(), `timed out waiting for ${what}`);
}

/** Whether a process has a handler for SIGHUP (signal 1) installed. */
function catchesHup(pid: number): boolean {
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? (BigInt(`0x${m[1]}`) & 1n) === 1n : false;
}

test('lkst logd killed with -9: the next logd writes what it left, and no event is lost or written twice', async () => {
  await withBufferNames(['logd-kill'], async (name) => {
    const root = mkdtempSync(join(tmpdir(), 'lkst-logdkill-'));
    const dir = join(root, 'files');
    const workload = await startSeqWorkload({ spin: 2000 });
    const daemons: ChildProcess[] = [];
    try {
      mkdirSync(dir);
      const inst = seqBuffer(name, workload.pid!, { sizeKb: 4096, overwrite: false });
      inst.tracingOn = true;
      const first = startLogd(name, dir, join(root, 'pid1'));
      daemons.push(first.child);
      await until('a first file', () => /wrote .*\.dat/.test(first.stderr()));
      await sleep(300);
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      const left = readdirSync(dir).filter((f) => f.startsWith('.lkst-'));
      assert.ok(left.some((f) => f.endsWith('.segment.json')), `the killed daemon left its segment: ${left.join(' ')}`);
      await sleep(300); // events keep coming into the buffer while no daemon runs

      const second = startLogd(name, dir, join(root, 'pid2'));
      daemons.push(second.child);
      await until("the left segment written", () => /from the segment the killed/.test(second.stderr()) || /logging/.test(second.stderr()));
      assert.match(second.stderr(), /from the segment the killed lkst logd \(pid \d+\) left; (its window ends where the next file begins|its end was recorded)/);
      await until('logging', () => /lkst logd: logging/.test(second.stderr()));
      await sleep(500);
      inst.tracingOn = false;
      await sleep(200);
      second.child.kill('SIGTERM');
      const [code] = await once(second.child, 'exit');
      assert.equal(code, 0, second.stderr());

      const names = readdirSync(dir);
      assert.deepEqual(names.filter((f) => f.startsWith('.')), [], 'no page files, journals or temporary files are left');
      const files = names.filter((f) => f.endsWith('.dat')).map((f) => join(dir, f));
      const seqs = files.flatMap(reportedSeqs);
      let lostBefore = 0;
      // What the files say was lost in their windows (the ledger every command shows); the windows meet exactly.
      // The first window also shows what the buffer dropped before the first daemon began (lostBefore).
      let lostByKernel = 0;
      let firstSeq = Infinity;
      for (const f of files) {
        const s = JSON.parse(lkst(['stats', '--json', f]).stdout) as { lostTotal: number; lostExact: boolean; lostBefore: number };
        assert.ok(s.lostExact, `${f}: the loss is exact`);
        lostByKernel += s.lostTotal;
        const min = reportedSeqs(f).reduce((a, b) => Math.min(a, b), Infinity);
        if (min < firstSeq) {
          firstSeq = min;
          lostBefore = s.lostBefore;
        }
      }
      lostByKernel += lostBefore;
      const sorted = [...seqs].sort((a, b) => a - b);
      let missing = 0;
      for (let i = 1; i < sorted.length; i++) {
        assert.ok(sorted[i]! > sorted[i - 1]!, `${sorted[i]} written twice`);
        missing += sorted[i]! - sorted[i - 1]! - 1;
      }
      assert.ok(sorted.length > 0);
      // Across the kill the files hold every event the buffer kept, and the holes are what they count as lost.
      assert.equal(missing, lostByKernel, `${missing} events missing across the kill; the files count ${lostByKernel} lost`);
    } finally {
      for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
      await stopChild(workload);
      rmSync(root, { recursive: true, force: true });
    }
  });
});

test('a SIGHUP while lkst logd sets up does not kill it: it rotates once it runs', async () => {
  await withBufferNames(['logd-hup'], async (name) => {
    const root = mkdtempSync(join(tmpdir(), 'lkst-logdhup-'));
    const workload = await startSeqWorkload({ spin: 3000 });
    let d: ChildProcess | undefined;
    try {
      const inst = seqBuffer(name, workload.pid!, { sizeKb: 1024, overwrite: false });
      inst.tracingOn = true;
      const logd = startLogd(name, root, join(root, '..', `${name}.pid`));
      d = logd.child;
      await until('a SIGHUP handler', () => catchesHup(d!.pid!), 10_000);
      d.kill('SIGHUP');
      await until('logging', () => /lkst logd: logging/.test(logd.stderr()));
      await until('the rotation asked for', () => /wrote .*\.dat/.test(logd.stderr()));
      assert.equal(d.exitCode, null, 'still running');
      inst.tracingOn = false;
      d.kill('SIGTERM');
      const [code] = await once(d, 'exit');
      assert.equal(code, 0, logd.stderr());
    } finally {
      if (d && d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
      await stopChild(workload);
      rmSync(root, { recursive: true, force: true });
      rmSync(join(root, '..', `${name}.pid`), { force: true });
    }
  });
});
