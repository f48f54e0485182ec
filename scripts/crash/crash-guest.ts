// Boots a Debian kernel under QEMU (TCG), lets the guest crash itself, and dumps its memory.
// Used by test/crash/ and runnable by hand:
//   node dist/scripts/crash/crash-guest.js KERNEL_DIR INITRAMFS OUTDIR [nokaslr] [la57] [mode=uaf]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { diedWhileBooting, vmlinuz } from '../guest/boot.js';

export interface GuestOptions {
  kernelDir: string;
  initramfs: string;
  outDir: string;
  nonce: string;
  kaslr?: boolean;
  la57?: boolean;
  mode?: 'basic' | 'uaf' | 'big';
  memMiB?: number;
  extraAppend?: string;
  /** Dump formats to take after the panic. */
  formats?: Array<DumpFormat>;
  /** Also keep guest RAM as a raw image (file-backed memory in /dev/shm). */
  raw?: boolean;
  timeoutMs?: number;
}

/**
 * QEMU's dump-guest-memory formats lkst is tested on (LZO and snappy: lkst refuses them, tested for
 * the message); elf-paging is ELF with `paging: true` (one PT_LOAD per virtual mapping, overlapping).
 */
export type DumpFormat = 'elf' | 'elf-paging' | 'kdump-zlib' | 'kdump-lzo' | 'kdump-snappy';

export interface BufferStats { entries: number; overrun: number; read: number }

export interface GuestResult {
  serial: string;
  panicked: boolean;
  dumps: Partial<Record<DumpFormat | 'raw', string>>;
  /** Formats this QEMU could not write (built without LZO or snappy), with its reason. */
  dumpErrors: Partial<Record<DumpFormat, string>>;
  /** buffer name ("top" or instance) → cpu → stats printed by the guest just before the crash. */
  stats: Map<string, Map<number, BufferStats>>;
}

/** The kernel command line of a crash-test guest (guest-init.sh reads the lkst.* words). */
export function guestAppend(o: GuestOptions): string {
  return [
    'console=ttyS0', 'panic=0', 'oops=panic', 'panic_on_warn=1', 'no_hash_pointers', 'loglevel=4',
    o.kaslr === false ? 'nokaslr' : 'kaslr', `lkst.nonce=${o.nonce}`, `lkst.mode=${o.mode ?? 'basic'}`,
    o.extraAppend ?? '',
  ].join(' ');
}

export function parseGuestStats(serial: string): Map<string, Map<number, BufferStats>> {
  const out = new Map<string, Map<number, BufferStats>>();
  for (const line of serial.split(/\r?\n/)) {
    const m = /LKST-STATS (\S+) (\d+) (\S+) (-?\d+)/.exec(line);
    if (!m) continue;
    const [, buf, cpu, key, val] = m;
    let cpus = out.get(buf);
    if (!cpus) out.set(buf, (cpus = new Map()));
    let s = cpus.get(Number(cpu));
    if (!s) cpus.set(Number(cpu), (s = { entries: 0, overrun: 0, read: 0 }));
    if (key === 'entries') s.entries = Number(val);
    else if (key === 'overrun') s.overrun = Number(val);
    else if (key === 'read_events') s.read = Number(val);
  }
  return out;
}

class Qmp {
  private buf = '';
  private waiters: Array<(msg: Record<string, unknown>) => boolean> = [];
  readonly events: string[] = [];
  constructor(private sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (typeof msg.event === 'string') this.events.push(msg.event);
        this.waiters = this.waiters.filter((w) => !w(msg));
      }
    });
  }
  next(pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push((m) => (pred(m) ? (resolve(m), true) : false)));
  }
  async cmd(execute: string, args?: unknown): Promise<Record<string, unknown>> {
    const p = this.next((m) => 'return' in m || 'error' in m);
    this.sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    const r = await p;
    if ('error' in r) throw new Error(`QMP ${execute}: ${JSON.stringify(r.error)}`);
    return r;
  }
}

async function connectWhenReady(path: string, child: ChildProcess, deadline: number): Promise<Socket> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`qemu exited early (${child.exitCode})`);
    if (existsSync(path)) {
      try {
        return await new Promise<Socket>((res, rej) => {
          const s = createConnection(path, () => res(s));
          s.once('error', rej);
        });
      } catch { /* not listening yet */ }
    }
    if (Date.now() > deadline) throw new Error('qemu QMP socket never appeared');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Boots the guest until it crashes itself. A kernel that died while booting (boot.ts) would look
 * like the test's crash with oops=panic, and an oops that does not panic hangs the boot until the
 * timeout: either boots once more.
 */
export async function crashGuest(o: GuestOptions): Promise<GuestResult> {
  const first = await crashGuestOnce(o);
  const died = diedWhileBooting(first.serial, 'LKST-INIT-START', first.panicked);
  if (died === undefined) return first;
  process.stderr.write(`# the guest kernel died while booting (${died}); booting it once more\n`);
  for (const p of Object.values(first.dumps)) rmSync(p, { force: true });
  return crashGuestOnce(o);
}

async function crashGuestOnce(o: GuestOptions): Promise<GuestResult> {
  const mem = o.memMiB ?? 256;
  const qmpPath = join(o.outDir, 'qmp.sock');
  const serialPath = join(o.outDir, 'serial.log');
  const rawPath = o.raw ? `/dev/shm/lkstcrash-raw-${process.pid}-${Date.now()}` : undefined;
  const append = guestAppend(o);
  const args = [
    '-accel', 'tcg', '-m', `${mem}M`, '-smp', '2', '-cpu', o.la57 ? 'qemu64,+la57' : 'qemu64',
    '-kernel', vmlinuz(o.kernelDir), '-initrd', o.initramfs, '-append', append,
    '-device', 'pvpanic', '-device', 'vmcoreinfo', '-action', 'panic=pause',
    '-display', 'none', '-monitor', 'none', '-no-reboot', '-nodefaults',
    '-serial', `file:${serialPath}`, '-qmp', `unix:${qmpPath},server=on,wait=on`,
  ];
  if (rawPath) {
    args.push('-object', `memory-backend-file,id=ram0,size=${mem}M,mem-path=${rawPath},share=on`, '-machine', 'memory-backend=ram0');
  }
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
  const dumps: GuestResult['dumps'] = {};
  const dumpErrors: GuestResult['dumpErrors'] = {};
  let panicked = false;
  let sock: Socket | undefined;
  try {
    sock = await connectWhenReady(qmpPath, child, deadline);
    const qmp = new Qmp(sock);
    await qmp.next((m) => 'QMP' in m);
    await qmp.cmd('qmp_capabilities');
    const exited = new Promise<null>((r) => child.once('exit', () => r(null)));
    const ev = await Promise.race([qmp.next((m) => m.event === 'GUEST_PANICKED'), exited]);
    panicked = ev !== null;
    if (panicked) {
      await qmp.cmd('stop');
      for (const f of o.formats ?? ['elf']) {
        const path = join(o.outDir, f === 'elf' ? 'vmcore.elf' : f === 'kdump-zlib' ? 'vmcore.kdump' : `vmcore.${f}`);
        try {
          const paging = f === 'elf-paging';
          await qmp.cmd('dump-guest-memory', { paging, protocol: `file:${path}`, format: paging ? 'elf' : f });
          dumps[f] = path;
        } catch (e) {
          // Optional compressions depend on how QEMU was built; the formats lkst reads must work.
          if (f === 'elf' || f === 'kdump-zlib') throw e;
          dumpErrors[f] = (e as Error).message;
        }
      }
      if (rawPath) dumps.raw = rawPath;
      await qmp.cmd('quit').catch(() => undefined);
    }
  } catch (e) {
    throw new Error(`${(e as Error).message}; qemu stderr: ${stderr.trim()}`);
  } finally {
    clearTimeout(timer);
    sock?.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      await gone;
    }
    rmSync(qmpPath, { force: true });
    if (rawPath && !dumps.raw) rmSync(rawPath, { force: true });
  }
  const serial = existsSync(serialPath) ? readFileSync(serialPath, 'latin1') : '';
  return { serial, panicked, dumps, dumpErrors, stats: parseGuestStats(serial) };
}

if (process.argv[1]?.endsWith('crash-guest.js') && process.argv.length >= 5) {
  const [kernelDir, initramfs, outDir, ...flags] = process.argv.slice(2);
  crashGuest({
    kernelDir, initramfs, outDir, nonce: flags.find((f) => f.startsWith('nonce='))?.slice(6) ?? 'manual',
    kaslr: !flags.includes('nokaslr'), la57: flags.includes('la57'),
    mode: (flags.find((f) => f.startsWith('mode='))?.slice(5) ?? 'basic') as GuestOptions['mode'], formats: ['elf', 'kdump-zlib'], raw: flags.includes('raw'),
    memMiB: Number(flags.find((f) => f.startsWith('mem='))?.slice(4) ?? 256),
    extraAppend: flags.filter((f) => f.startsWith('append=')).map((f) => f.slice(7)).join(' '),
  }).then((r) => {
    console.log(JSON.stringify({ panicked: r.panicked, dumps: r.dumps, stats: [...r.stats].map(([b, m]) => [b, [...m]]) }));
  }, (e) => { console.error(String(e)); process.exit(1); });
}
