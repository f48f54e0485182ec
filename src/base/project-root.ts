import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * lkst's own directory (the checkout, or the installed package): the nearest one up from this
 * module whose package.json is lkst's. Found by walking up because this module runs from two
 * places: dist/src/base (tsc's output, tests and benchmarks) and dist/lkst (the bundle users run).
 */
let root: string | undefined;
export function projectRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"lkst"/.test(readFileSync(pkg, 'utf8'))) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`lkst's package.json is not above ${start}: reinstall lkst`);
  }
}

/** A file of lkst's own, by its path from the project's root (e.g. dist/src/web). */
export function projectPath(...parts: string[]): string {
  return join(projectRoot(), ...parts);
}

/** The CLI as users run it, from the project's root (the bundle `npm run build` writes; its launcher keeps V8's code cache). */
const CLI_PATH = 'dist/lkst/main.cjs';

/** The full path of the CLI as users run it. */
export function cliPath(): string {
  return projectPath(CLI_PATH);
}
