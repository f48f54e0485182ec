// A killed lkst logd loses nothing: the next one writes the segments it left, and its first file
// begins where theirs ended. A SIGHUP while it sets up does not kill it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * pread64 calls numbered 1..N (the file offset carries the number, as helpers.ts's seq workload),
 * started by a GO file and ended by a STOP file, then N printed: every number is accounted for.
 */
function countedWorkload(go: string, stop: string): { child: ChildProcess; last: Promise<number> } {
  const script =
    "const fs=require('fs');const fd=fs.openSync('/dev/zero','r');const b=Buffer.alloc(1);" +
    `while(!fs.existsSync(${JSON.stringify(go)}));let i=1;for(;;i++){fs.readSync(fd,b,0,1,i);for(let j=0;j<2000;j++);` +
    `if((i&1023)===0&&fs.existsSync(${JSON.stringify(stop)}))break;}process.stdout.write('last '+i+'\\n');`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const last = once(child, 'exit').then(() => Number(/last (\d+)/.exec(out)?.[1]));
  return { child, last };
}

test('lkst logd killed with -9: the next logd writes what it left; every event is in one file or counted lost', async () => {
  await withBufferNames(['logd-kill'], async (name) => {
    const root = mkdtempSync(join(tmpdir(), 'lkst-logdkill-'));
    const dir = join(root, 'files');
    const work = countedWorkload(join(root, 'go'), join(root, 'stop'));
    const daemons: ChildProcess[] = [];
    try {
      mkdirSync(dir);
      const inst = seqBuffer(name, work.child.pid!, { sizeKb: 4096, overwrite: false });
      inst.tracingOn = true;
      const first = startLogd(name, dir, join(root, 'pid1'));
      daemons.push(first.child);
      await until('the first logd', () => /lkst logd: logging/.test(first.stderr()));
      writeFileSync(join(root, 'go'), '');
      await until('a first file', () => /wrote .*\.dat/.test(first.stderr()));
      await sleep(300);
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      const left = readdirSync(dir).filter((f) => f.startsWith('.lkst-'));
      assert.ok(left.some((f) => f.endsWith('.segment.json')), `the killed daemon left its segment: ${left.join(' ')}`);
      await sleep(300); // events keep coming into the buffer while no daemon runs

      const second = startLogd(name, dir, join(root, 'pid2'));
      daemons.push(second.child);
      await until('logging', () => /lkst logd: logging/.test(second.stderr()));
      assert.match(second.stderr(), /from the segment the killed lkst logd \(pid \d+\) left; (its window ends where the next file begins|its end was recorded)/);
      await sleep(500);
      writeFileSync(join(root, 'stop'), '');
      const n = await work.last;
      await sleep(300);
      inst.tracingOn = false;
      second.child.kill('SIGTERM');
      const [code] = await once(second.child, 'exit');
      assert.equal(code, 0, second.stderr());

      const names = readdirSync(dir);
      assert.deepEqual(names.filter((f) => f.startsWith('.')), [], 'no page files, journals or temporary files are left');
      const files = names.filter((f) => f.endsWith('.dat')).map((f) => join(dir, f));
      const seqs = files.flatMap(reportedSeqs);
      assert.equal(new Set(seqs).size, seqs.length, 'no event is in two files');
      assert.ok(seqs.every((q) => q >= 1 && q <= n));
      // What the files say was lost in their windows (the ledger every command shows); the windows meet exactly.
      let lost = 0;
      for (const f of files) {
        const st = JSON.parse(lkst(['stats', '--json', f]).stdout) as { lostTotal: number; lostExact: boolean; lostBefore: number };
        assert.ok(st.lostExact, `${f}: the loss is exact`);
        lost += st.lostTotal;
      }
      // Every event is in a file or counted lost, exactly: each file's window ends at the counters the
      // next one starts from (a file once took its end counters when written, counting drops twice).
      assert.equal(seqs.length + lost, n, `${n} events made: ${seqs.length} in ${files.length} files, ${lost} counted lost`);
    } finally {
      for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
      await stopChild(work.child);
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
