/**
 * Runs fuzz cases in a child process that prints "start SEED" before each case and one JSON result
 * line after it. A case still running after the time limit is a hang, a child above the memory
 * bound is killed: either way the seed is kept and a fresh child goes on from the next seed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LkstError } from '../../src/base/errors.js';
import { createInterface } from 'node:readline';

export interface FuzzLimits {
  /** A case still running after this long is a hang (a guard, not a timing assertion: a wedged reader never finishes). */
  caseMs: number;
  /** A child whose resident memory grows past this is killed and its case counted as unbounded. */
  rssMb: number;
  /** After this many hangs or kills the run stops: the seeds are enough to replay. */
  maxFailures: number;
  /** V8 heap limit of the child, MiB. */
  heapMb: number;
}

export interface FuzzRun<T> {
  results: T[];
  hung: number[];
  /** Seeds whose child passed the memory bound. */
  overMemory: number[];
  /** How a child died other than by our kill, if one did. */
  exit?: string;
}

const POLL_MS = 200;

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** One child running seeds first..last (args gets them appended); stops at the first hang or memory kill. */
function runChild<T>(script: string, args: string[], first: number, last: number, lim: FuzzLimits): Promise<{ results: T[]; hung?: number; over?: number; exit?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${lim.heapMb}`, script, ...args, String(first), String(last)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const results: T[] = [];
    let current = -1;
    let timer: NodeJS.Timeout | undefined;
    let hung: number | undefined;
    let over: number | undefined;
    let stderr = '';
    const poll = setInterval(() => {
      if (child.pid !== undefined && rssMb(child.pid) > lim.rssMb) {
        over = current;
        child.kill('SIGKILL');
      }
    }, POLL_MS);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()).length > 1e5 && (stderr = stderr.slice(-1e4)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('start ')) {
        current = Number(line.slice(6));
        clearTimeout(timer);
        timer = setTimeout(() => {
          hung = current;
          child.kill('SIGKILL');
        }, lim.caseMs);
      } else results.push(JSON.parse(line) as T);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      const killed = hung !== undefined || over !== undefined;
      const exit = !killed && code !== 0 ? `exit ${code ?? signal} at seed ${current}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : undefined;
      resolve({ results, hung, over, exit });
    });
  });
}

/** Seeds 1..cases through as many children as hangs and memory kills need. */
export async function fuzzCases<T>(script: string, args: string[], cases: number, lim: FuzzLimits): Promise<FuzzRun<T>> {
  const run: FuzzRun<T> = { results: [], hung: [], overMemory: [] };
  for (let next = 1; next <= cases; ) {
    const r = await runChild<T>(script, args, next, cases, lim);
    run.results.push(...r.results);
    if (r.exit) run.exit = r.exit;
    const stopped = r.hung ?? r.over;
    if (r.exit || stopped === undefined) break;
    (r.hung !== undefined ? run.hung : run.overMemory).push(stopped);
    if (run.hung.length + run.overMemory.length >= lim.maxFailures) break;
    next = stopped + 1;
  }
  return run;
}

/** What every fuzz run must show: no hang, no child past the memory bound or dead, no stack trace, every case run. */
export function assertBounded<T extends { seed: number; how: string; message?: string }>(name: string, run: FuzzRun<T>, crashed: T[], cases: number, lim: FuzzLimits): void {
  assert.equal(run.exit, undefined, `${name}: the reading process died: ${run.exit}`);
  assert.deepEqual(run.hung, [], `${name}: seeds that hung`);
  assert.deepEqual(run.overMemory, [], `${name}: seeds whose reader grew past ${lim.rssMb} MiB`);
  assert.deepEqual(crashed.map((r) => `seed ${r.seed} (${r.how}): ${r.message}`), [], `${name}: errors that are not one-line LkstErrors`);
  assert.equal(run.results.length, cases, `${name}: every case ran`);
}

// Control characters (C0, C1, DEL) and line separators: what a message must never carry to a terminal.
const UNSHOWN = /[\p{Cc}\u2028\u2029]/u;

/** How a case that threw ended: refused (a one-line LkstError, input text escaped) or crashed (anything else). */
export function caseError(e: unknown): { outcome: 'refused' | 'crashed'; message: string } {
  if (e instanceof LkstError && !UNSHOWN.test(e.message)) return { outcome: 'refused', message: e.message };
  return { outcome: 'crashed', message: e instanceof LkstError ? `unescaped or multi-line message: ${JSON.stringify(e.message)}` : e instanceof Error ? String(e.stack) : String(e) };
}
