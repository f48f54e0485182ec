/**
 * The count tables of recordings running now: each recording's BPF runner rewrites them every
 * second under the state directory (bpf/INSTANCE/counts, with layout.json beside), and `lkst status` reads them.
 */
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LkstError } from '../base/errors.js';
import { join } from 'node:path';
import { stateDir } from '../base/config.js';
import type { CountLayout } from './codegen.js';
import { decodeCounts, parseCountLines, type CountsReport } from './counts.js';

/** The masksets of a running recording's BPF table, by index (table.json). */
export interface LiveTable {
  masksets: string[];
}

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
    if (!existsSync(join(root, instance, 'counts'))) continue;
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


/** The BPF table of the recording in an instance, if one runs there. */
export function liveTable(instance: string): LiveTable | undefined {
  try {
    return JSON.parse(readFileSync(join(liveCountsDir(instance), 'table.json'), 'utf8')) as LiveTable;
  } catch {
    return undefined;
  }
}

/**
 * Sends one command line to a running recording's BPF runner and returns its one-line answer
 * ("ok ..." or "error ..."; '' when the runner does not answer within 2 s).
 */
export async function liveCommand(instance: string, line: string): Promise<string> {
  const dir = liveCountsDir(instance);
  const reply = join(dir, 'reply');
  rmSync(reply, { force: true });
  // Non-blocking: a FIFO nobody reads (a runner that is gone) fails at once rather than hanging.
  let fd: number;
  try {
    fd = openSync(join(dir, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
  for (let i = 0; i < 200 && !existsSync(reply); i++) await sleep(10);
  return existsSync(reply) ? readFileSync(reply, 'utf8').trim() : '';
}

/**
 * Makes maskset `index` of a running recording's BPF table the one in force: one map write by the
 * runner, which answers with the time that write took. Throws when the runner does not answer.
 */
export async function switchLiveTable(instance: string, index: number): Promise<{ windowNs: number }> {
  const text = await liveCommand(instance, `current ${index}`);
  const m = /^ok current \d+ window_ns (\d+)/.exec(text);
  if (!m) throw new LkstError(`the BPF handlers of ${instance} did not switch (${text || 'no answer from lkst-bpf-run'})`, '`lkst status` shows whether the recording still runs');
  return { windowNs: Number(m[1]) };
}
