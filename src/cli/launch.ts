/**
 * The CLI users run, dist/lkst/main.cjs (scripts/bundle.ts): starts the bundle dist/lkst/lkst.cjs
 * through V8's code cache. Node 20 compiles a module's functions again in every process, and lkst's
 * commands are short processes (a recording's fixed cost is timed against trace-cmd's): the bytecode
 * a command compiled is kept beside the bundle, a file per command, and given to V8 the next time.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

const file = join(__dirname, 'lkst.cjs');
// ASCII (scripts/bundle.ts checks): latin1 makes the one-byte string V8 wants without decoding UTF-8.
const source = readFileSync(file, 'latin1');
const cacheDir = join(__dirname, 'code-cache');
// A command's help runs other code than the command: a cache of its own.
const command = `${process.argv[2] ?? ''}${process.argv.includes('--help') || process.argv.includes('-h') ? '-help' : ''}`;
// V8 checks a cache against the source's length only: the bundle's size and time are in the name.
const stat = statSync(file);
const cacheFile = join(cacheDir, `${command}-${process.version}-${stat.size}-${Math.floor(stat.mtimeMs)}`);
// Only a command's name makes a file name (not a path or an option given first).
const named = /^[a-z]+(-help)?$/.test(command);
let cachedData: Buffer | undefined;
try {
  if (named) cachedData = readFileSync(cacheFile);
} catch {
  /* none yet */
}
// The file is already one function expression of CommonJS's wrapper (exports, require, module, __filename, __dirname).
const script = new Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
// Kept after the CLI knew the command (main.ts marks it): an unknown word leaves no file. However the
// command ended: a recording ends on a signal.
if (named && (!cachedData || script.cachedDataRejected)) process.once('exit', () => (globalThis as Record<symbol, unknown>)[Symbol.for('lkst.command')] === process.argv[2] && save());
const mod = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void).call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));

function save(): void {
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    const data = script.createCachedData();
    mkdirSync(cacheDir, { recursive: true });
    // Older caches of this command (not of its help: `record-v...` is not `record-help-v...`).
    for (const f of readdirSync(cacheDir)) if (f.startsWith(`${command}-v`) && f !== basename(cacheFile)) rmSync(join(cacheDir, f), { force: true });
    writeFileSync(tmp, data);
    renameSync(tmp, cacheFile);
  } catch {
    // A read-only install or a full disk: each run compiles, as without the cache.
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* not ours to clean (no access) */
    }
  }
}
