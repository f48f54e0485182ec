import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO } from './fixtures.js';

/** The folders of src/ from the lowest layer up; folders of one layer may import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ['base'],
  ['tracefs'],
  ['events', 'probes'],
  ['ringbuf'],
  ['trace'],
  ['record', 'buffers', 'masksets', 'handlers', 'native', 'bpf'],
  ['file'],
  ['crash'],
  ['sources'],
  ['analysis', 'export', 'bench'],
  ['cli', 'web'],
];

/** Imports within one layer that are still refused. */
const FORBIDDEN_PEERS: readonly [string, string][] = [['handlers', 'masksets']];

/** Violations that exist today, each with why it is still there; the test fails only on new ones. */
const KNOWN: ReadonlyMap<string, string> = new Map<string, string>([]);

const SRC = join(REPO, 'src');
const rank = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative specifiers of static imports, re-exports, side-effect imports and import(). */
function importsOf(text: string): string[] {
  const re = /(?:^|[;}\s])(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...text.matchAll(re)].map((m) => (m[1] ?? m[2] ?? m[3])!).filter((s) => s.startsWith('.'));
}

const folderOf = (path: string): string => relative(SRC, path).split('/')[0]!;

/** "from -> to" for every import of src/ that reaches a higher layer or a refused peer. */
function violations(): { found: string[]; unknownFolders: string[] } {
  const found: string[] = [];
  const unknownFolders = new Set<string>();
  for (const file of sources(SRC)) {
    const from = folderOf(file);
    if (!rank.has(from)) unknownFolders.add(from);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const to = folderOf(target);
      if (to === from || to.startsWith('..')) continue;
      if (!rank.has(to)) unknownFolders.add(to);
      const up = (rank.get(to) ?? Infinity) > (rank.get(from) ?? -1);
      if (up || FORBIDDEN_PEERS.some(([a, b]) => a === from && b === to)) found.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  return { found, unknownFolders: [...unknownFolders] };
}

test('no module of src/ imports from a layer above its own', () => {
  const { found, unknownFolders } = violations();
  assert.deepEqual(unknownFolders, [], 'every folder of src/ has a place in LAYERS');
  const fresh = found.filter((v) => !KNOWN.has(v));
  assert.deepEqual(fresh, [], `imports against the layers (base → tracefs → events → ringbuf → trace → capture/control → file → crash → sources → consumers → cli/web):\n${fresh.join('\n')}`);
});

test('the allow-list holds only violations that still exist', () => {
  const { found } = violations();
  assert.deepEqual(
    [...KNOWN.keys()].filter((k) => !found.includes(k)),
    [],
    'remove fixed entries from KNOWN',
  );
});

test('the import scanner sees every form of import', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    'import {\n  c,\n  d,\n} from "./c.js";',
    "export { e } from './e.js';",
    "export * from './f.js';",
    "import './g.js';",
    "const h = await import('./h.js');",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.js', '../b/b.js', './c.js', './e.js', './f.js', './g.js', './h.js']);
});
