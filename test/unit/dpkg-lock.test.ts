// scripts/dpkg-lock.sh, which ensure.sh runs before apt-get: it waits while a package manager holds
// the lock, saying so, and gives up after LKST_DPKG_LOCK_WAIT seconds with a clear line. The lock
// here is a temporary file held with flock(1): the real dpkg locks are left alone.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const script = fileURLToPath(new URL('../../../scripts/dpkg-lock.sh', import.meta.url));

/** Holds an exclusive flock on file until the returned child's stdin closes; resolves once it holds it. */
async function holdLock(file: string): Promise<ChildProcess> {
  const child = spawn('flock', ['-x', file, 'sh', '-c', 'echo held; cat > /dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock exited with ${code}`)));
  });
  return child;
}

function release(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.stdin!.end();
  });
}

const waitCmd = (file: string) => `. ${script}; wait_for_dpkg_lock ${file}`;

test('ensure.sh waits for a held package manager lock with a message, gives up with a clear line, goes on once it is free', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-lock-'));
  const lock = join(dir, 'lock-frontend');
  writeFileSync(lock, '');
  let holder: ChildProcess | undefined;
  try {
    // Free: returns at once, silently.
    const free = spawnSync('sh', ['-c', waitCmd(lock)], { encoding: 'utf8' });
    assert.equal(free.status, 0);
    assert.equal(free.stderr, '');

    holder = await holdLock(lock);
    // Held past the limit: a non-zero exit and one line naming the file, the holder and what to do.
    const late = spawnSync('sh', ['-c', waitCmd(lock)], { encoding: 'utf8', env: { ...process.env, LKST_DPKG_LOCK_WAIT: '1' } });
    assert.equal(late.status, 1);
    const lines = late.stderr.trim().split('\n');
    assert.match(lines[0]!, new RegExp(`^lkst: waiting for ${lock}, held by pid \\d+ \\(flock\\)`));
    assert.match(lines[1]!, new RegExp(`^lkst: ${lock} is still locked by pid \\d+ \\(flock\\) after 1 s: another package manager is running; .*LKST_DPKG_LOCK_WAIT`));
    assert.equal(lines.length, 2);

    // Held, then freed while waiting: it goes on.
    const waiter = spawn('sh', ['-c', waitCmd(lock)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const exited = new Promise<number | null>((resolve) => waiter.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      waiter.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('lkst: waiting for')) resolve();
      }),
    );
    await release(holder);
    holder = undefined;
    assert.equal(await exited, 0);
    assert.match(err, /the package manager lock is free: going on/);
  } finally {
    if (holder) await release(holder);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the wait covers the dpkg and apt locks by default', () => {
  const r = spawnSync('sh', ['-c', `. ${script}; echo $DPKG_LOCKS`], { encoding: 'utf8' });
  assert.deepEqual(r.stdout.trim().split(' '), ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock', '/var/lib/apt/lists/lock']);
});
