// lkst leaves itself out: the recorder (every Node thread) and its page mover make under 0.1% of a
// default trace's events.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lkst, lkstStart } from '../helpers/cli.js';

/** The tasks (threads) of a process and of its children, read from /proc while it runs. */
function tasksOf(pid: number, out: Set<number>): void {
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      out.add(Number(t));
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean)) {
        // The recorded command's processes are what is traced, not lkst.
        if (readFileSync(`/proc/${c}/comm`, 'utf8').startsWith('lkst-pump')) tasksOf(Number(c), out);
      }
    }
  } catch {
    /* gone meanwhile */
  }
}

test("a default recording holds under 0.1% of events from lkst's own processes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-self-'));
  try {
    const path = join(dir, 'self.dat');
    // Some work to trace besides lkst itself: syscalls and context switches for about 3 s.
    const child = lkstStart(['record', '-o', path, '--', 'sh', '-c', 'for i in $(seq 1 300); do cat /proc/self/stat >/dev/null; done; sleep 3']);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const own = new Set<number>();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      tasksOf(child.pid!, own);
    }
    assert.equal(await exited, 0, stderr);
    assert.ok(own.size >= 2, `the recorder's threads and its page mover: ${[...own]}`);
    const q = lkst(['query', '--csv', path, `SELECT count(*) AS total, count(*) FILTER (WHERE pid IN (${[...own].join(',')})) AS own FROM events`]);
    assert.equal(q.status, 0, q.stderr);
    const [total, mine] = q.stdout.trim().split('\n')[1]!.split(',').map(Number);
    t.diagnostic(`${mine} of ${total} events from lkst's ${own.size} tasks (${((100 * mine!) / total!).toFixed(3)}%)`);
    assert.ok(total! > 1000, `a real trace: ${total} events`);
    assert.ok(mine! / total! < 0.001, `${mine} of ${total} events are lkst's own (${((100 * mine!) / total!).toFixed(3)}%)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
