import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LkstError } from '../../base/errors.js';
import { runChild, lastLines } from '../child.js';
import { benchCacheDir } from '../paths.js';
import type { Workload, WorkloadSample } from '../workload.js';

const SOURCE_DIR = '/usr/src';
const INSTALL_FIX = 'install the C library source it compiles: apt-get install uclibc-source (and make, gcc)';

/** The uClibc-ng release tarball Debian's uclibc-source ships. */
export function findBuildTarball(): string | undefined {
  try {
    const t = readdirSync(SOURCE_DIR).filter((f) => /^uClibc-ng-[\d.]+\.tar\.xz$/.test(f)).sort();
    return t.length ? join(SOURCE_DIR, t[t.length - 1]!) : undefined;
  } catch {
    return undefined;
  }
}

/** Picks n of the objects spread over the whole tree (every k-th), so the mix of sources stays the same at any scale. */
export function spreadPick<T>(items: readonly T[], n: number): T[] {
  if (n >= items.length) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.floor((i * items.length) / n)]!);
  return out;
}

/**
 * Compiles a real C project with make -j: uClibc-ng (a C library of ~800 objects), from the source
 * Debian ships. Prepared once (unpack, configure, generated headers); each run deletes and rebuilds
 * `objects` of its library objects, spread over the tree (all of them: ~45 s on 2 CPUs).
 */
export function buildWorkload(opts: { objects?: number; jobs?: number } = {}): Workload {
  const objects = opts.objects ?? 400;
  const jobs = opts.jobs ?? availableParallelism();
  let tree = '';
  let targets: string[] = [];
  return {
    name: 'build',
    description: `make -j${jobs} of ${objects} uClibc-ng objects`,
    metrics: [{ key: 'seconds', label: 'build time', unit: 's', higherIsBetter: false }],
    async prepare(signal) {
      const tarball = findBuildTarball();
      if (!tarball) throw new LkstError('the build workload needs uClibc-ng sources in /usr/src', INSTALL_FIX);
      const root = join(benchCacheDir(), 'build');
      const name = tarball.split('/').pop()!.replace(/\.tar\.xz$/, '');
      tree = join(root, name);
      const ready = join(root, `${name}.objects`);
      if (!existsSync(ready)) {
        rmSync(root, { recursive: true, force: true });
        mkdirSync(root, { recursive: true });
        await must(runChild('tar', ['xf', tarball, '-C', root], { signal }), 'unpack the sources');
        // Debian keeps asm/ under the multiarch include directory; uClibc wants one kernel-headers tree.
        const kh = join(root, 'kernel-headers');
        mkdirSync(kh);
        const multiarch = readdirSync('/usr/include').find((d) => existsSync(join('/usr/include', d, 'asm')));
        if (!multiarch) throw new LkstError('no kernel headers (asm/) under /usr/include', 'apt-get install linux-libc-dev');
        symlinkSync(join('/usr/include', multiarch, 'asm'), join(kh, 'asm'));
        for (const d of ['linux', 'asm-generic', 'mtd']) if (existsSync(join('/usr/include', d))) symlinkSync(join('/usr/include', d), join(kh, d));
        await must(runChild('make', ['defconfig'], { cwd: tree, signal }), 'configure');
        const cfgPath = join(tree, '.config');
        writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace(/^KERNEL_HEADERS=.*$/m, `KERNEL_HEADERS="${kh}"`));
        await must(runChild('make', ['-j', String(jobs), 'pregen'], { cwd: tree, signal }), 'generate headers');
        const dry = await must(runChild('make', ['-n', 'lib/libc.a'], { cwd: tree, signal }), 'list the objects');
        const all = [...new Set([...dry.stdout.matchAll(/ -o (\S+\.os)\b/g)].map((m) => m[1]!))].sort();
        if (all.length < 10) throw new LkstError(`found only ${all.length} objects to build`, 'remove ' + root + ' and retry');
        writeFileSync(ready, all.join('\n') + '\n');
      }
      targets = spreadPick(readFileSync(ready, 'utf8').split('\n').filter(Boolean), objects);
    },
    async run(signal): Promise<WorkloadSample> {
      for (const t of targets) rmSync(join(tree, t), { force: true });
      const t0 = performance.now();
      await must(runChild('make', ['-j', String(jobs), ...targets], { cwd: tree, signal }), 'build');
      const ms = performance.now() - t0;
      return { metrics: { seconds: ms / 1000 }, durationMs: ms };
    },
    async cleanup() {},
  };
}

async function must(p: Promise<{ code: number; stdout: string; stderr: string }>, what: string) {
  const r = await p;
  if (r.code !== 0) throw new LkstError(`build workload: cannot ${what} (make exit ${r.code}): ${lastLines(r.stderr)}`, INSTALL_FIX);
  return r;
}
