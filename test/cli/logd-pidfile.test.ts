// `lkst logd --rotate` signals the daemon named by its pid file only while that same process runs:
// pids are reused (pid_max is 32768 on this VM), and SIGHUP ends most programs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { processStart } from '../../src/base/owner.js';

test('logd --rotate with a pid file whose pid now belongs to another process: one line, and that process lives on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-logdpid-'));
  // A stand-in for whoever got the pid: an ordinary process that SIGHUP would end.
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const pid = other.pid!;
    const start = processStart(pid)!;
    const pidFile = join(dir, 'logd.pid');
    for (const text of [`${pid} ${start + 1}\n`, `${pid}\n`]) {
      // A logd of another start time with this pid, and an old-style file with the pid alone.
      writeFileSync(pidFile, text);
      const r = lkst(['logd', '--rotate', '--pid-file', pidFile]);
      assert.ok(isOneLineError(r), `one line, got: ${r.stderr}`);
      assert.match(r.stderr, /no lkst logd is running/);
      assert.equal(processStart(pid), start, `${JSON.stringify(text)}: the other process was not signalled`);
    }
    // A signalled sleep would be a zombie at once, and its exit reported to us soon after.
    assert.doesNotMatch(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')'), /^\) [ZX] /, 'the other process still runs');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(other.signalCode, null, 'the other process got no signal');
  } finally {
    other.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
