// Every command reads every dump kind in place: report, stats, state, view, query, analyze and export
// on the ELF, flattened kdump, plain kdump and raw image of one crashed guest print exactly what they
// print on the trace.dat `lkst recover` writes (same events, same counts, same losses).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withTrace } from '../../src/analysis/open.js';
import { buildViewData } from '../../src/web/view-data.js';
import { lkst } from '../helpers/cli.js';
import { crashedGuest, fetchKernel, type CrashedGuest } from './guest.js';

const kernel = fetchKernel('6.1');
const skip = 'skip' in kernel ? kernel.skip : false;

/** makedumpfile -R turns a flattened dump into a plain one; without it the plain case is left out, saying why. */
const hasMakedumpfile = spawnSync('makedumpfile', ['-v'], { stdio: 'ignore' }).error === undefined;

describe('every command reads every dump kind through the one trace model', { skip }, () => {
  let g: CrashedGuest;
  let dir: string;
  let traceDat: string;
  const dumps: Array<[string, string]> = [];
  before(async () => {
    g = await crashedGuest((kernel as { dir: string }).dir, { formats: ['elf', 'kdump-zlib'], raw: true });
    dir = mkdtempSync(join(tmpdir(), 'lkst-dumpcmds-'));
    traceDat = join(dir, 'recovered.dat');
    const r = lkst(['recover', g.dumps.elf!, '-o', traceDat]);
    assert.equal(r.status, 0, r.stderr);
    dumps.push(['elf', g.dumps.elf!], ['kdump (flattened)', g.dumps['kdump-zlib']!], ['raw', g.dumps.raw!]);
    if (hasMakedumpfile) {
      const plain = join(g.dir, 'vmcore.plain');
      execFileSync('sh', ['-c', 'makedumpfile -R "$1" < "$2"', 'sh', plain, g.dumps['kdump-zlib']!], { stdio: 'ignore' });
      dumps.push(['kdump (plain)', plain]);
    }
  });
  after(() => {
    g?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A command's output on the file (its path written as FILE), failing on a non-zero exit. */
  function run(args: (file: string) => string[], file: string): string {
    const r = lkst(args(file), { cwd: dir, maxBuffer: 1 << 28, timeoutMs: 300_000 });
    assert.equal(r.status, 0, `lkst ${args(file).join(' ')}: ${r.stderr}`);
    return (r.stdout + r.stderr).split(file).join('FILE');
  }

  const commands: Array<[string, (f: string) => string[]]> = [
    ['report', (f) => ['report', f]],
    ['stats', (f) => ['stats', f]],
    ['state', (f) => ['state', '--at', 'end', '--no-cache', f]],
    ['query', (f) => ['query', f, 'select cpu, count(*) as n, min(ts), max(ts) from events group by cpu order by cpu']],
    ['analyze latency', (f) => ['analyze', 'latency', f]],
    ['analyze timers', (f) => ['analyze', 'timers', f]],
  ];

  test('report, stats, state, query and analyze print the same on each dump kind as on the recovered trace.dat', (t) => {
    if (!hasMakedumpfile) t.diagnostic('makedumpfile is not installed: the plain kdump case is left out');
    const before = readdirSync(g.dir).sort();
    for (const [name, args] of commands) {
      const want = run(args, traceDat);
      assert.ok(want.trim().length > 0, `${name} printed something`);
      for (const [kind, path] of dumps) assert.equal(run(args, path), want, `${name} on the ${kind} dump`);
    }
    assert.match(run((f) => ['stats', f], dumps[0]![1]), /lost/, 'stats shows the loss figures it compared');
    // Only the commands' own caches (summaries kept for the next run): no temporary trace.dat or page files.
    assert.deepEqual(readdirSync(g.dir).filter((n) => !n.endsWith('.lkst-cache')).sort(), before, 'nothing else was written beside the dumps');
  });

  test('export writes the same file from each dump kind as from the recovered trace.dat', () => {
    for (const to of ['csv', 'chrome-json']) {
      const out = join(dir, `want.${to}`);
      run((f) => ['export', '--to', to, '-o', out, f], traceDat);
      const want = readFileSync(out);
      for (const [kind, path] of dumps) {
        const got = join(dir, `got.${to}`);
        run((f) => ['export', '--to', to, '-o', got, f], path);
        assert.ok(readFileSync(got).equals(want), `export --to ${to} of the ${kind} dump`);
      }
    }
  });

  test('the viewer builds the same timeline from each dump kind as from the recovered trace.dat', async () => {
    // What the page is sent (the reader's own handles, input and chunk index, left out).
    const view = (path: string) => withTrace(path, (t) => {
      const { meta, pyramids, running, irqs, irqNames, flows, typeById } = buildViewData(t, 'trace');
      return JSON.stringify({ meta, pyramids, running, irqs, irqNames, flows, typeById: Array.from(typeById) }, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    });
    const want = await view(traceDat);
    assert.ok(want.length > 1000);
    for (const [kind, path] of dumps) assert.equal(await view(path), want, `view of the ${kind} dump`);
  });
});
