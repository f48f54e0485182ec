// Runs one shell command inside a QEMU (TCG) guest booted from a Debian kernel, on the host's own
// root shared read-only over virtio-9p (so /work/... and node run as they are), and returns its
// stdout, stderr and exit code. tmpfs on /tmp, /run, /var/tmp and /root; tracefs mounted.
// The command's working directory and files it writes under `shared` (the exchange directory, same
// path on both sides) are how results come back. One guest at a time: callers keep memory small.
//   node dist/scripts/guest/guest.js [--kernel DIR|backports] -- 'uname -r; ls /sys/kernel/tracing'
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diedWhileBooting, vmlinuz } from './boot.js';

export interface GuestRun {
  /** Shell text run by /bin/sh in the guest (the host's /bin/sh, chrooted into the shared root). */
  script: string;
  /** Unpacked kernel .deb with the 9p modules; default: findGuestKernel(). */
  kernelDir?: string;
  /** Working directory in the guest (read-only unless under /tmp or `shared`); default: this process's. */
  cwd?: string;
  /** Added to the guest command's environment (PATH, HOME and LKST_GUEST_SHARED, the exchange directory, are set). */
  env?: Record<string, string>;
  memMiB?: number;
  cpus?: number;
  /**
   * Run every vCPU on one host thread (`-accel tcg,thread=single`). For guests that patch kernel
   * text (kprobes, fprobes, the function tracer): with a thread per vCPU, Debian's 6.12 now and then
   * died executing an instruction being patched (a RIP one byte into a 5-byte nop in __schedule).
   */
  oneTcgThread?: boolean;
  timeoutMs?: number;
  /** More kernel command line words. */
  append?: string;
  /** More QEMU arguments (e.g. a QMP socket to dump the guest's memory). */
  qemuArgs?: string[];
  /**
   * Let the guest reboot (no -no-reboot): QEMU keeps RAM across the reset, so a boot-persistent
   * trace buffer survives a panic with panic=N. The command then runs again on each boot.
   */
  reboot?: boolean;
  /** Keep the exchange directory (the caller reads files the command left there, then removes it). */
  keep?: boolean;
  /** Use this directory (the caller's, with files for the guest in it) as the exchange directory; kept. */
  shared?: string;
}

export interface GuestResult {
  /** The command's exit code; null when it never finished (the guest crashed or timed out). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The guest's console: boot messages, LKST-GUEST-ERROR lines. */
  serial: string;
  /** The exchange directory, writable by the command, the same path on host and guest. */
  shared: string;
  timedOut: boolean;
}

const CACHE = process.env['LKST_TEST_CACHE'] || '/var/cache/lkst-test';

/** Which kernel: Debian 12's 6.12, or the newest of trixie-backports (fetch-kernel.sh backports). */
export type GuestKernel = '6.12' | 'backports';

/** Major and minor of an unpacked kernel's directory name, e.g. linux-image-7.3.4+deb13-amd64. */
function version(name: string): [number, number] | undefined {
  const m = /^linux-image-(\d+)\.(\d+)\..*-amd64$/.exec(name);
  return m && !name.includes('cloud') ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * An unpacked Debian kernel with 9p modules, or undefined: for 6.12 $LKST_GUEST_KERNEL, else the
 * cache's; for backports the cache's newest above 6.12 ($LKST_GUEST_KERNEL_BACKPORTS overrides).
 * One the cache lacks is downloaded once per process (fetch-kernel.sh, as the crash rig fetches
 * its kernels): a clean machine runs the guest tests too; without the network they skip.
 */
export function findGuestKernel(which: GuestKernel = '6.12'): string | undefined {
  const env = process.env[which === '6.12' ? 'LKST_GUEST_KERNEL' : 'LKST_GUEST_KERNEL_BACKPORTS'];
  if (env) return env;
  const cached = cachedGuestKernel(which);
  if (cached || fetchTried.has(which)) return cached;
  fetchTried.add(which);
  try {
    execFileSync('sh', [join(scriptsDir(), 'fetch-kernel.sh'), ...(which === '6.12' ? [] : ['backports'])], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    // exit 3: it cannot be had here (its line names why); the guest's tests skip
  }
  return cachedGuestKernel(which);
}

const fetchTried = new Set<GuestKernel>();

function cachedGuestKernel(which: GuestKernel): string | undefined {
  const dir = join(CACHE, 'kernels');
  if (!existsSync(dir)) return undefined;
  const rank = (v: [number, number]) => v[0] * 1000 + v[1];
  const found = readdirSync(dir)
    .map((n) => ({ n, v: version(n) }))
    .filter((k): k is { n: string; v: [number, number] } => !!k.v && existsSync(join(dir, k.n, '.done')))
    .filter((k) => (which === '6.12' ? k.v[0] === 6 && k.v[1] === 12 : rank(k.v) > rank([6, 12])))
    .sort((a, b) => rank(b.v) - rank(a.v) || b.n.localeCompare(a.n));
  return found[0] && join(dir, found[0].n);
}

/** Why a guest cannot run here, or undefined when it can (for a test's skip). */
export function guestUnavailable(which: GuestKernel = '6.12'): string | undefined {
  if (!findGuestKernel(which)) return `no Debian ${which === '6.12' ? '6.12' : 'trixie-backports'} kernel with 9p in ${CACHE}/kernels (scripts/guest/fetch-kernel.sh${which === '6.12' ? '' : ' backports'})`;
  for (const tool of ['qemu-system-x86_64', 'busybox', 'cpio', 'xz']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

/** The checkout (this file runs from dist/scripts/guest). */
const checkout = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The scripts/guest directory of the source tree. */
function scriptsDir(): string {
  const src = join(checkout, 'scripts', 'guest');
  return existsSync(join(src, 'init.sh')) ? src : dirname(fileURLToPath(import.meta.url));
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function runInGuest(o: GuestRun): Promise<GuestResult> {
  const kernelDir = o.kernelDir ?? findGuestKernel();
  if (!kernelDir) throw new Error(guestUnavailable());
  const shared = o.shared ?? mkdtempSync(join(tmpdir(), 'lkst-guest-'));
  const initramfs = join(shared, 'initramfs.cpio.gz');
  execFileSync('sh', [join(scriptsDir(), 'make-initramfs.sh'), kernelDir, initramfs], { stdio: ['ignore', 'ignore', 'pipe'] });
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LKST_GUEST_SHARED: shared, ...o.env };
  writeFileSync(
    join(shared, 'run.sh'),
    [
      ...Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`),
      `cd ${quote(o.cwd ?? process.cwd())} || exit 1`,
      `(\n${o.script}\n) > ${quote(join(shared, 'stdout'))} 2> ${quote(join(shared, 'stderr'))} < /dev/null`,
      `echo $? > ${quote(join(shared, 'rc'))}`,
      '',
    ].join('\n'),
  );
  const serialPath = join(shared, 'serial.log');
  const mem = o.memMiB ?? 768;
  if (mem > 1024) throw new Error('guest memory is kept at 1 GiB or less');
  const args = [
    '-accel', o.oneTcgThread ? 'tcg,thread=single' : 'tcg', '-cpu', 'max', '-m', `${mem}M`, '-smp', String(o.cpus ?? 2),
    '-kernel', vmlinuz(kernelDir), '-initrd', initramfs,
    '-append', `console=ttyS0 loglevel=4 panic=-1 lkst.xchg=${shared} lkst.checkout=${checkout} ${o.append ?? ''}`.trim(),
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${shared},mount_tag=xchg,security_model=none`,
    // The checkout again, on its own: under /tmp (a CI clone) the guest's tmpfs would hide it.
    '-virtfs', `local,path=${checkout},mount_tag=checkout,security_model=none,readonly=on,multidevs=remap`,
    '-display', 'none', '-monitor', 'none', '-nodefaults', ...(o.reboot ? [] : ['-no-reboot']),
    '-serial', `file:${serialPath}`,
    ...(o.qemuArgs ?? []),
  ];
  const read = (f: string) => (existsSync(join(shared, f)) ? readFileSync(join(shared, f), 'utf8') : '');
  // A kernel that died while booting (boot.ts) is booted once more.
  for (let attempt = 1; ; attempt++) {
    const { exit, timedOut, qemuErr } = await runQemu(args, o.timeoutMs ?? 600_000);
    const rc = read('rc').trim();
    const result: GuestResult = { code: rc === '' ? null : Number(rc), stdout: read('stdout'), stderr: read('stderr'), serial: read('serial.log'), shared, timedOut };
    const died = result.code === null ? diedWhileBooting(result.serial, 'LKST-GUEST-READY') : undefined;
    if (attempt === 1 && died) {
      process.stderr.write(`# the guest kernel died while booting (${died}); booting it once more\n`);
      rmSync(serialPath, { force: true });
      continue;
    }
    if (!o.keep && !o.shared) rmSync(shared, { recursive: true, force: true });
    if (exit !== 0 && !timedOut && result.code === null) throw new Error(`qemu exited with ${exit}: ${qemuErr.trim()}`);
    return result;
  }
}

/** One QEMU run to its end (or killed at the timeout). */
async function runQemu(args: string[], timeoutMs: number): Promise<{ exit: number | null; timedOut: boolean; qemuErr: string }> {
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let qemuErr = '';
  child.stderr.on('data', (d) => (qemuErr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exit = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  return { exit, timedOut, qemuErr };
}

if (process.argv[1]?.endsWith('guest.js')) {
  const argv = process.argv.slice(2);
  const k = argv.indexOf('--kernel');
  const dash = argv.indexOf('--');
  const script = (dash >= 0 ? argv.slice(dash + 1) : argv).join(' ');
  // --kernel backports: the cache's trixie-backports kernel; else a directory.
  const kernel = argv[k + 1] === 'backports' ? findGuestKernel('backports') : argv[k + 1];
  runInGuest({ script, ...(k >= 0 && kernel ? { kernelDir: kernel } : {}) }).then(
    (r) => {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      if (r.code === null) process.stderr.write(`guest: the command did not finish${r.timedOut ? ' (timed out)' : ''}; console:\n${r.serial.slice(-3000)}`);
      process.exit(r.code ?? 125);
    },
    (e) => {
      process.stderr.write(`guest: ${(e as Error).message}\n`);
      process.exit(125);
    },
  );
}
