import { spawn, type ChildProcess } from 'node:child_process';
import { projectPath } from '../../base/project-root.js';
import { LkstError } from '../../base/errors.js';
import { killGroup, lastLines, runChild } from '../child.js';
import type { Workload, WorkloadSample } from '../workload.js';

export interface WrkResult {
  requestsPerSec: number;
  /** Latency percentiles in ms. */
  p50: number;
  p90: number;
  p99: number;
  requests: number;
}

function toMs(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : unit === 'm' ? v * 60000 : v;
}

/** Parses `wrk --latency` output. */
export function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s*([\d.]+)/.exec(text);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const req = /(\d+) requests in/.exec(text);
  if (!rps) throw new LkstError('cannot read the load generator output', `wrk printed: ${lastLines(text)}`);
  return { requestsPerSec: Number(rps[1]), p50: pct('50'), p90: pct('90'), p99: pct('99'), requests: req ? Number(req[1]) : NaN };
}

/**
 * A Node HTTP server on 127.0.0.1 in its own process, driven by wrk for a fixed time (the seed's
 * WebBench): requests per second and latency percentiles.
 */
export function webWorkload(opts: { seconds?: number; connections?: number } = {}): Workload {
  const seconds = opts.seconds ?? 8;
  const connections = opts.connections ?? 32;
  let server: ChildProcess | undefined;
  let url = '';
  return {
    name: 'web',
    fixedDuration: true,
    description: `wrk -c${connections} for ${seconds} s against a Node HTTP server on 127.0.0.1`,
    metrics: [
      { key: 'requestsPerSec', label: 'requests/s', unit: 'req/s', higherIsBetter: true },
      { key: 'p50', label: 'latency p50', unit: 'ms', higherIsBetter: false },
      { key: 'p99', label: 'latency p99', unit: 'ms', higherIsBetter: false },
    ],
    async prepare(signal) {
      const check = await runChild('wrk', ['--version'], { signal, what: 'wrk' }).catch(() => undefined);
      if (!check) throw new LkstError('the web workload needs the wrk load generator', 'apt-get install wrk');
      const script = projectPath('dist/src/bench/web-server.js');
      const child = spawn(process.execPath, [script, '0'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
      server = child;
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /^(\d+)\n/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', (code) => reject(new LkstError(`the web server exited (${code})`, 'run lkst bench --workload web again')));
      });
      url = `http://127.0.0.1:${port}/`;
    },
    async run(signal): Promise<WorkloadSample> {
      const t0 = performance.now();
      const r = await runChild('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], { signal, what: 'wrk' });
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new LkstError(`wrk failed (${r.code}): ${lastLines(r.stderr || r.stdout)}`, 'check that the server on ' + url + ' answers');
      const w = parseWrk(r.stdout);
      return { metrics: { requestsPerSec: w.requestsPerSec, p50: w.p50, p99: w.p99 }, durationMs: ms, operations: w.requests };
    },
    async cleanup() {
      if (server && server.exitCode === null) killGroup(server.pid);
      server = undefined;
    },
  };
}
