// Bundles the CLI into dist/lkst (after tsc; `npm run build` and scripts/ensure.sh run it):
//   main.cjs   the launcher (src/cli/launch.ts): runs lkst.cjs through V8's code cache
//   lkst.cjs   src/cli/main.ts and everything it imports as one function expression of CommonJS's
//              wrapper (each command's modules still evaluated only when that command runs)
//   *-worker.js, worker.js  the worker threads' entry points, named as the code starts them
//              (new URL('./range-worker.js', import.meta.url) resolves beside lkst.cjs)
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from '../src/base/project-root.js';

const root = projectRoot();
const out = join(root, 'dist/lkst');
// Without whitespace and comments the text V8 reads is smaller, and ASCII (a one-byte string: the
// comments held the only other characters); names are kept for stack traces and error names.
// Packages stay in node_modules (native addons cannot be bundled; the rest load only when used) but
// commander, which every command starts with: inside, it is in the code cache too.
const external = ['@duckdb/node-api', 'fzstd', 'zstd-napi', 'typescript', 'playwright-core', 'esbuild'];
const common = { bundle: true, platform: 'node', target: 'node20', external, sourcemap: true, minifyWhitespace: true, charset: 'ascii', logLevel: 'warning', absWorkingDir: root } as const;
const WORKERS = ['src/analysis/report/range-worker.ts', 'src/analysis/report/prefetch-worker.ts', 'src/web/summary-worker.ts', 'src/handlers/worker.ts'];

rmSync(out, { recursive: true, force: true });
await build({ ...common, entryPoints: ['src/cli/launch.ts'], format: 'cjs', outfile: join(out, 'main.cjs'), banner: { js: '#!/usr/bin/env node' } });
await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  format: 'cjs',
  outfile: join(out, 'lkst.cjs'),
  // CommonJS has no import.meta: its URL is the bundle's own (the launcher passes its path as __filename).
  define: { 'import.meta.url': '__lkst_module_url' },
  // One function expression, as Node's CommonJS wrapper would make it: the launcher compiles the
  // file's text as it is (wrapping it would copy it into a new string first).
  banner: { js: '(function (exports, require, module, __filename, __dirname) { var __lkst_module_url = require("node:url").pathToFileURL(__filename).href;' },
  footer: { js: '\n})' },
  // The launcher compiles it as a vm.Script, which has no import(): packages come in by require.
  supported: { 'dynamic-import': false },
});
// main.ts's #! line: the launcher wraps the text in a function, where it would not parse.
const bundle = join(out, 'lkst.cjs');
const text = readFileSync(bundle, 'utf8').replace(/^#!/, '//');
for (let i = 0; i < text.length; i++) {
  if (text.charCodeAt(i) > 0x7f) throw new Error(`dist/lkst/lkst.cjs has a non-ASCII character (${JSON.stringify(text.slice(i - 40, i + 10))}): the launcher reads it as latin1`);
}
writeFileSync(bundle, text, { mode: 0o644 });
await build({ ...common, entryPoints: WORKERS, format: 'esm', outdir: out, entryNames: '[name]' });
