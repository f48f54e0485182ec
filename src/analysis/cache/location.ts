/**
 * Where a trace's caches live and whether they still belong to it: a directory beside the trace
 * (`.NAME.lkst-cache/`), or under $LKST_CACHE_DIR or /var/tmp/lkst/cache when the trace's directory
 * is not writable. The directory holds `key.json`, the trace's identity when the caches were built:
 * any change (size, mtime, inode, first or last MiB, lkst's cache format) empties it.
 */
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Bumped whenever what a cache holds changes shape: older caches are then rebuilt. */
export const CACHE_FORMAT = 3;

const EDGE = 1 << 20;

export interface TraceIdentity {
  format: number;
  size: number;
  mtimeNs: string;
  ino: number;
  dev: number;
  /** sha256 of the first and last MiB. */
  edges: string;
}

export function traceIdentity(path: string): TraceIdentity {
  const st = statSync(path, { bigint: true });
  const size = Number(st.size);
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(EDGE, size));
    h.update(buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)));
    if (size > EDGE) h.update(buf.subarray(0, readSync(fd, buf, 0, buf.length, size - buf.length)));
  } finally {
    closeSync(fd);
  }
  return { format: CACHE_FORMAT, size, mtimeNs: st.mtimeNs.toString(), ino: Number(st.ino), dev: Number(st.dev), edges: h.digest('hex') };
}

/** Names a cache file for one selection of buffers (--buffer): each selection has its own. */
export function selectionFile(prefix: string, buffers: readonly { name: string }[], ext: string): string {
  const names = buffers.map((b) => b.name).join('\0');
  return `${prefix}-${createHash('sha256').update(names).digest('hex').slice(0, 12)}.${ext}`;
}

/** The shared cache root for traces in directories lkst may not write. */
export function sharedCacheRoot(): string {
  return process.env.LKST_CACHE_DIR || '/var/tmp/lkst/cache';
}

function besideDir(path: string): string {
  return join(dirname(path), `.${basename(path)}.lkst-cache`);
}

function sharedDir(path: string): string {
  const real = realpathSync(path);
  return join(sharedCacheRoot(), `${basename(real)}-${createHash('sha256').update(real).digest('hex').slice(0, 16)}`);
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the trace's cache goes (not created). */
export function cacheDirOf(path: string): string {
  return writable(dirname(path)) ? besideDir(path) : sharedDir(path);
}

/** Every place a cache of this trace may be (beside it and in the shared root). */
export function cacheDirsOf(path: string): string[] {
  const out = [besideDir(path)];
  try {
    out.push(sharedDir(path));
  } catch {
    // The trace is gone: only the beside-it directory can be named.
  }
  return out;
}

function sameIdentity(a: TraceIdentity, b: TraceIdentity): boolean {
  return a.format === b.format && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino && a.dev === b.dev && a.edges === b.edges;
}

/**
 * The trace's cache directory, created and emptied when it was built for another version of the
 * file; undefined when it cannot be made (the caller then works uncached).
 */
export function openCacheDir(path: string): string | undefined {
  const dir = cacheDirOf(path);
  const id = traceIdentity(path);
  const keyFile = join(dir, 'key.json');
  try {
    let old: TraceIdentity | undefined;
    try {
      old = JSON.parse(readFileSync(keyFile, 'utf8')) as TraceIdentity;
    } catch {
      old = undefined;
    }
    if (old && sameIdentity(old, id)) return dir;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(keyFile, JSON.stringify(id) + '\n');
    return dir;
  } catch {
    return undefined;
  }
}

function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return n;
}

/** What kind of cached thing a file in a cache directory is (by the names its builders give). */
const KINDS: [RegExp, string][] = [
  [/^query-.*\.duckdb/, 'query tables'],
  [/^summary-/, 'state summary'],
  [/^state-/, 'state checkpoints'],
];

export interface CachePart {
  what: string;
  files: number;
  bytes: number;
}

/** The directory's files by kind (key.json left out). */
function partsOf(dir: string): CachePart[] {
  const parts = new Map<string, CachePart>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'key.json') continue;
    const what = KINDS.find(([re]) => re.test(e.name))?.[1] ?? 'other';
    const p = parts.get(what) ?? { what, files: 0, bytes: 0 };
    p.files++;
    p.bytes += e.isDirectory() ? bytesUnder(join(dir, e.name)) : statSync(join(dir, e.name)).size;
    parts.set(what, p);
  }
  return [...parts.values()];
}

export interface CacheInfo {
  dir: string;
  bytes: number;
  /** What it holds, by kind. */
  parts: CachePart[];
  /** Whether it was built for the trace as it is now (else the next use rebuilds it). */
  current: boolean;
}

/** The trace's caches that exist, with their sizes. */
export function cacheInfo(path: string): CacheInfo[] {
  const out: CacheInfo[] = [];
  for (const dir of cacheDirsOf(path)) {
    if (!existsSync(dir)) continue;
    let current = false;
    try {
      current = sameIdentity(JSON.parse(readFileSync(join(dir, 'key.json'), 'utf8')) as TraceIdentity, traceIdentity(path));
    } catch {
      current = false;
    }
    out.push({ dir, bytes: bytesUnder(dir), parts: partsOf(dir), current });
  }
  return out;
}

/** Removes the trace's caches (or, without a trace, the shared root). Returns what was removed. */
export function clearCache(path?: string): CacheInfo[] {
  const found = path ? cacheInfo(path) : existsSync(sharedCacheRoot()) ? [{ dir: sharedCacheRoot(), bytes: bytesUnder(sharedCacheRoot()), parts: [], current: false }] : [];
  for (const c of found) rmSync(c.dir, { recursive: true, force: true });
  return found;
}
