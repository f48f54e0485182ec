// The first run of ./lkst on a fresh checkout says what it does while it builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('./lkst on a checkout never built: progress lines on stderr, then the command runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-first-'));
  try {
    for (const f of ['src', 'test', 'bench', 'scripts', 'examples', 'package.json', 'package-lock.json', 'tsconfig.json', 'lkst']) cpSync(join(ROOT, f), join(dir, f), { recursive: true, preserveTimestamps: true });
    // The dependencies as installed (npm ci is what a first run would add; it needs the network).
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    // Never `npm ci` through that link (it would empty the checkout's node_modules): the lock file is
    // made older than the install, as it is where the install came from it.
    const installed = statSync(join(ROOT, 'node_modules/.package-lock.json')).mtime;
    const older = new Date(installed.getTime() - 1000);
    utimesSync(join(dir, 'package-lock.json'), older, older);
    const r = spawnSync(join(dir, 'lkst'), ['--version'], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^lkst: first run: installing the npm dependencies and building/m);
    assert.match(r.stderr, /^lkst: building \(tsc: sources changed since the last build\)\.\.\.$/m);
    assert.match(r.stderr, /^lkst: built$/m);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    const again = spawnSync(join(dir, 'lkst'), ['--version'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(again.stderr, '', 'quiet once built');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
