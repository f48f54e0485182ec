/**
 * The viewer's summaries kept beside the trace (analysis/cache): the pass's output as one schema
 * block (`view-<buffers>.bin`) and the side panel's JSON (`view-summary-<buffers>.json`), so the
 * next `lkst view` of the same file skips the pass. Only the whole trace is cached (not --from/--to).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TraceInput } from '../analysis/input.js';
import { openCacheDir, selectionFile } from '../analysis/cache/location.js';
import { decodeBlock, encodeBlock, type Column, type ViewMeta } from './schema.js';
import { CountPyramid } from './pyramid.js';
import { Intervals } from './slices.js';
import { ChunkIndex } from './reader.js';
import type { ViewData } from './view-data.js';

interface Stored {
  meta: ViewMeta;
  irqNames: string[];
  firsts: number[][];
  types: [number, number][];
}

/** Where this trace's viewer cache files go (undefined: no cache directory can be made). */
export function viewCacheFiles(input: TraceInput): { data: string; summary: string } | undefined {
  const dir = openCacheDir(input.path);
  return dir ? { data: join(dir, selectionFile('view', input.buffers, 'bin')), summary: join(dir, selectionFile('view-summary', input.buffers, 'json')) } : undefined;
}

/** Writes through a temporary name, so a reader never sees half a file; a failure only costs the next run a pass. */
export function storeFile(file: string, data: Uint8Array | string): void {
  try {
    writeFileSync(`${file}.tmp`, data);
    renameSync(`${file}.tmp`, file);
  } catch {
    // Not cached: the next run builds again.
  }
}

export function storeViewData(file: string, d: ViewData): void {
  const cols: Record<string, Column> = {};
  d.pyramids.forEach((p, i) => (cols[`pyr/${i}`] = p.levels[0]!));
  for (const [name, iv] of [['run', d.running], ['irq', d.irqs]] as const) {
    cols[`${name}/start`] = iv.start;
    cols[`${name}/end`] = iv.end;
    cols[`${name}/key`] = iv.key;
    cols[`${name}/value`] = iv.value;
  }
  for (const [k, v] of Object.entries(d.flows)) cols[`flow/${k}`] = v;
  const types: [number, number][] = [];
  d.typeById.forEach((t, id) => t >= 0 && types.push([id, t]));
  const stored: Stored = { meta: d.meta, irqNames: d.irqNames, firsts: d.chunks.firsts, types };
  storeFile(file, encodeBlock(stored, cols));
}

export function loadViewData(file: string, input: TraceInput, title: string): ViewData | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const { meta: s, cols } = decodeBlock<Stored>(copy.buffer);
  const f64 = (k: string) => cols[k] as Float64Array;
  const i32 = (k: string) => cols[k] as Int32Array;
  const typeById = new Int32Array(65536).fill(-1);
  for (const [id, t] of s.types) typeById[id] = t;
  return {
    meta: { ...s.meta, title },
    pyramids: s.meta.cpuTracks.map((_, i) => new CountPyramid(s.meta.baseNs, 0, cols[`pyr/${i}`] as Uint32Array).finish()),
    running: new Intervals(f64('run/start'), f64('run/end'), i32('run/key'), i32('run/value'), true),
    irqs: new Intervals(f64('irq/start'), f64('irq/end'), i32('irq/key'), i32('irq/value'), false),
    irqNames: s.irqNames,
    flows: { wake: f64('flow/wake'), run: f64('flow/run'), pid: i32('flow/pid'), waker: i32('flow/waker'), cpu: i32('flow/cpu') },
    typeById,
    chunks: new ChunkIndex(input, s.firsts),
    input,
  };
}
