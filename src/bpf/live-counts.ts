/**
 * The count tables of recordings running now: each recording's BPF runner rewrites them every
 * second under the state directory (bpf/INSTANCE/counts, with layout.json beside), and `lkst status` reads them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../base/config.js';
import type { CountLayout } from './codegen.js';
import { decodeCounts, parseCountLines, type CountsReport } from './counts.js';

/** Where a running recording's count tables are, for `lkst status`. */
export function liveCountsDir(instance: string): string {
  return join(stateDir(), 'bpf', instance);
}

/** The count tables of every recording running BPF handlers now: instance -> tables. */
export function readLiveCounts(): Map<string, CountsReport> {
  const root = join(stateDir(), 'bpf');
  const out = new Map<string, CountsReport>();
  if (!existsSync(root)) return out;
  for (const instance of readdirSync(root).sort()) {
    try {
      const layouts = JSON.parse(readFileSync(join(root, instance, 'layout.json'), 'utf8')) as CountLayout[];
      const file = join(root, instance, 'counts');
      out.set(instance, decodeCounts(layouts, existsSync(file) ? parseCountLines(readFileSync(file, 'utf8')) : [], 0));
    } catch {
      /* a recording ending while we read */
    }
  }
  return out;
}

