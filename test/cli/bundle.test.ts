// The CLI users run is the bundle dist/lkst/main.cjs (scripts/bundle.ts), started through V8's code
// cache: it prints what the module tree tsc writes prints, keeps a cache per command after a run
// that ended well, and a damaged or stale cache costs only the compile it would have saved.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI } from '../helpers/cli.js';

const TREE = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/trace-cmd.dat', import.meta.url));
const CACHE = join(CLI, '..', 'code-cache');

const run = (main: string, args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const reportCaches = () => (existsSync(CACHE) ? readdirSync(CACHE).filter((f) => f.startsWith('report-')) : []);

test('the bundle prints what the module tree prints, and keeps its code cache per command', () => {
  for (const f of reportCaches()) rmSync(join(CACHE, f));
  const tree = run(TREE, ['report', FIXTURE]);
  assert.equal(tree.status, 0, tree.stderr);
  assert.ok(tree.stdout.split('\n').length > 100, 'the fixture has events to print');

  const first = run(CLI, ['report', FIXTURE]);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout, tree.stdout, 'the same report, byte for byte');
  const kept = reportCaches();
  assert.equal(kept.length, 1, `one cache for report after its first run (${kept.join(', ')})`);
  assert.match(kept[0]!, new RegExp(`^report-${process.version}-\\d+-\\d+$`), 'named by Node and the bundle it was made from');

  const cached = run(CLI, ['report', FIXTURE]);
  assert.equal(cached.stdout, tree.stdout, 'the same again with the cache');

  // A damaged cache is refused by V8, the command runs as without it and writes a good one.
  writeFileSync(join(CACHE, kept[0]!), Buffer.alloc(4096, 0xa5));
  const damaged = run(CLI, ['report', FIXTURE]);
  assert.equal(damaged.status, 0, damaged.stderr);
  assert.equal(damaged.stdout, tree.stdout, 'the same with a damaged cache');
  assert.deepEqual(reportCaches(), kept, 'and the cache is written anew under the same name');
  assert.notDeepEqual(readFileSync(join(CACHE, kept[0]!)), Buffer.alloc(4096, 0xa5), 'with V8 data in it');
  assert.equal(run(CLI, ['report', FIXTURE]).stdout, tree.stdout);

  // An unknown word leaves no cache (it would leave one per typo); a known command that failed does.
  const bad = run(CLI, ['nosuchcommand']);
  assert.notEqual(bad.status, 0);
  assert.ok(!existsSync(CACHE) || !readdirSync(CACHE).some((f) => f.startsWith('nosuchcommand-')), 'no cache for an unknown word');
  for (const f of readdirSync(CACHE).filter((f) => f.startsWith('stats-'))) rmSync(join(CACHE, f));
  const failed = run(CLI, ['stats', '/nonexistent.dat']);
  assert.notEqual(failed.status, 0);
  assert.equal(readdirSync(CACHE).filter((f) => f.startsWith('stats-')).length, 1, 'a cache for a command that ran and failed');
});
